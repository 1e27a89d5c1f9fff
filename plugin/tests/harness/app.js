// Test harness: a small Stash-like UI with the components the plugin patches (ScenePage,
// ScenePage.Tabs, PerformerPage, PerformerDetailsPanel), loading its data from Stash's GraphQL
// (the stand-in, same origin) as Stash does, at Stash's paths: /scenes/<id> or /performers/<id>.
(function () {
  "use strict";
  const { React, ReactDOM } = window.PluginApi;
  const { PatchComponent, PatchContainerComponent } = window.__harness;
  const h = React.createElement;

  const SCENE = `query HarnessScene($id: ID!) {
    findScene(id: $id) { id title performers { id name } }
  }`;
  const PERFORMER = `query HarnessPerformer($id: ID!) {
    findPerformer(id: $id) { id name disambiguation stash_ids { endpoint stash_id } }
  }`;

  async function gql(query, variables) {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    const payload = await response.json();
    if (payload.errors) throw new Error(payload.errors.map((e) => e.message).join("; "));
    return payload.data;
  }

  const ScenePageTabs = PatchContainerComponent("ScenePage.Tabs");
  const ScenePage = PatchComponent("ScenePage", (props) =>
    h(
      "div",
      { className: "scene-page" },
      h("h2", { className: "scene-title" }, props.scene.title),
      // As in Stash's Scene.tsx: <Nav variant="tabs"><ScenePageTabs {...props}><Nav.Item>...
      h(
        "div",
        { className: "nav nav-tabs" },
        h(
          ScenePageTabs,
          props,
          h("div", { className: "nav-item" }, h("span", { className: "nav-link active" }, "Details")),
          h("div", { className: "nav-item" }, h("span", { className: "nav-link" }, "File Info"))
        )
      ),
      h(
        "div",
        { className: "scene-performers" },
        "Performers: ",
        props.scene.performers.map((p) => h("span", { key: p.id, className: "performer-tag" }, p.name))
      )
    )
  );

  const PerformerDetailsPanel = PatchComponent("PerformerDetailsPanel", (props) =>
    h(
      "div",
      { className: "detail-group" },
      h("div", null, `Stash ids: ${props.performer.stash_ids.length}`)
    )
  );
  const PerformerPage = PatchComponent("PerformerPage", (props) =>
    h(
      "div",
      { className: "performer-page" },
      h("h2", { className: "performer-name" }, props.performer.name),
      h(PerformerDetailsPanel, { performer: props.performer })
    )
  );

  function App() {
    const [, kind, id] = window.location.pathname.match(/^\/(scenes|performers)\/(\d+)$/) || [];
    const [state, setState] = React.useState({ status: "loading" });
    React.useEffect(() => {
      const load =
        kind === "performers"
          ? gql(PERFORMER, { id }).then((d) => ({ performer: d.findPerformer }))
          : gql(SCENE, { id: id || "1" }).then((d) => ({ scene: d.findScene }));
      load.then(
        (data) => setState(Object.assign({ status: "ready" }, data)),
        (err) => setState({ status: "error", message: err.message })
      );
    }, []);
    if (state.status === "loading") return h("div", null, "Loading\u2026");
    if (state.status === "error") return h("div", { className: "harness-error" }, state.message);
    if (state.performer) return h(PerformerPage, { performer: state.performer });
    if (!state.scene) return h("div", { className: "harness-error" }, "no such scene");
    return h(ScenePage, { scene: state.scene });
  }

  ReactDOM.createRoot(document.getElementById("root")).render(h(App));
})();
