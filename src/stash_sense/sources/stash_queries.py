"""The GraphQL documents the Stash client sends, as module constants so that a test validates
each one against the real Stash schema (tests/stash/test_stash_queries.py)."""

from __future__ import annotations

FIND_SCENE = """
query FindScene($id: ID!) {
  findScene(id: $id) {
    id
    title
    paths { screenshot stream sprite vtt }
    files { path duration width height }
    performers { id name stash_ids { endpoint stash_id } }
  }
}
"""

FIND_PERFORMER = """
query FindPerformer($id: ID!) {
  findPerformer(id: $id) {
    id
    name
    image_path
    stash_ids { endpoint stash_id }
  }
}
"""

FIND_PERFORMERS_BY_STASH_ID = """
query FindPerformersByStashId($endpoint: String!, $stash_id: String!) {
  findPerformers(
    performer_filter: {
      stash_id_endpoint: {endpoint: $endpoint, stash_id: $stash_id, modifier: EQUALS}
    }
    filter: {per_page: 2}
  ) {
    count
    performers { id name }
  }
}
"""

#: One page of scenes for the library scan, oldest edit first: `scene_filter` picks the scope (no
#: performers: performer_count EQUALS 0; edited since: updated_at GREATER_THAN, RFC 3339).
FIND_SCENES_PAGE = """
query FindScenesPage($scene_filter: SceneFilterType, $page: Int!, $per_page: Int!) {
  findScenes(
    scene_filter: $scene_filter
    filter: {page: $page, per_page: $per_page, sort: "updated_at", direction: ASC}
  ) {
    count
    scenes { id title date updated_at studio { id name } }
  }
}
"""

#: One page of local performers for the library health refresh, by id.
FIND_PERFORMERS_PAGE = """
query FindPerformersPage($page: Int!, $per_page: Int!) {
  findPerformers(filter: {page: $page, per_page: $per_page, sort: "id", direction: ASC}) {
    count
    performers {
      id name disambiguation image_path scene_count
      stash_ids { endpoint stash_id }
    }
  }
}
"""

FIND_PERFORMER_STAMPS = """
query FindPerformerStamps($page: Int!, $per_page: Int!) {
  findPerformers(filter: {page: $page, per_page: $per_page, sort: "id", direction: ASC}) {
    count
    performers { id updated_at }
  }
}
"""

FIND_PERFORMERS_BY_IDS = """
query FindPerformersByIds($ids: [ID!]) {
  findPerformers(ids: $ids, filter: {per_page: -1}) {
    performers {
      id name disambiguation image_path scene_count updated_at
      stash_ids { endpoint stash_id }
    }
  }
}
"""

VERSION = """
query Version {
  version { version }
}
"""

QUERIES: dict[str, str] = {
    "FindScene": FIND_SCENE,
    "FindPerformer": FIND_PERFORMER,
    "FindPerformersByStashId": FIND_PERFORMERS_BY_STASH_ID,
    "FindScenesPage": FIND_SCENES_PAGE,
    "FindPerformersPage": FIND_PERFORMERS_PAGE,
    "FindPerformerStamps": FIND_PERFORMER_STAMPS,
    "FindPerformersByIds": FIND_PERFORMERS_BY_IDS,
    "Version": VERSION,
}
