// Stash Sense plugin: every GraphQL operation the plugin sends to Stash, in one place.
// tests/plugin/test_queries.py validates each template literal below against Stash's real schema,
// so keep every operation here (and nothing but operations in backticks).
(function () {
  "use strict";
  const ns = (window.StashSense = window.StashSense || {});

  ns.queries = Object.freeze({
    configuration: `query StashSenseConfiguration {
  configuration {
    plugins(include: ["stash-sense"])
  }
}`,

    stashBoxes: `query StashSenseStashBoxes {
  configuration {
    general {
      stashBoxes {
        endpoint
        name
      }
    }
  }
}`,

    version: `query StashSenseVersion {
  version {
    version
  }
}`,

    scenePerformers: `query StashSenseScenePerformers($id: ID!) {
  findScene(id: $id) {
    id
    performers {
      id
      name
    }
  }
}`,

    performerByStashId: `query StashSensePerformerByStashId($endpoint: String!, $stash_id: String!) {
  findPerformers(
    performer_filter: {
      stash_id_endpoint: { endpoint: $endpoint, stash_id: $stash_id, modifier: EQUALS }
    }
    filter: { per_page: 5 }
  ) {
    count
    performers {
      id
      name
      disambiguation
    }
  }
}`,

    performersByName: `query StashSensePerformersByName($name: String!) {
  findPerformers(filter: { q: $name, per_page: 25 }) {
    count
    performers {
      id
      name
      disambiguation
      alias_list
    }
  }
}`,

    performerStashIds: `query StashSensePerformerStashIds($id: ID!) {
  findPerformer(id: $id) {
    id
    name
    stash_ids {
      endpoint
      stash_id
      updated_at
    }
  }
}`,

    performerCreate: `mutation StashSensePerformerCreate($input: PerformerCreateInput!) {
  performerCreate(input: $input) {
    id
    name
  }
}`,

    performerUpdate: `mutation StashSensePerformerUpdate($input: PerformerUpdateInput!) {
  performerUpdate(input: $input) {
    id
    stash_ids {
      endpoint
      stash_id
      updated_at
    }
  }
}`,

    sceneUpdate: `mutation StashSenseSceneUpdate($input: SceneUpdateInput!) {
  sceneUpdate(input: $input) {
    id
    performers {
      id
      name
    }
  }
}`,

    runProxy: `mutation StashSenseRunProxy($args: Map) {
  runPluginOperation(plugin_id: "stash-sense", args: $args)
}`,
  });
})();
