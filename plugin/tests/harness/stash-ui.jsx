// Test harness: the parts of Stash's web UI (stashapp/stash ui/v2.5) that the plugin meets, built
// from the same libraries at the versions Stash's ui/v2.5/pnpm-lock.yaml pins (React 17.0.2,
// react-bootstrap 1.6.8 for "^1.6.6", @apollo/client 3.14.0, graphql 16.11.0, mousetrap 1.6.5) and
// bundled by esbuild when the harness starts. Written for these tests; no Stash code is copied.
//
// What it reproduces, with the Stash file each part follows:
// - window.PluginApi (src/pluginApi.tsx): React, ReactDOM, libraries {Bootstrap, Apollo, Mousetrap},
//   components, patch.before/instead/after (src/patch.tsx), hooks.useToast, utils.StashService
//   (src/core/StashService.ts: getClient() returns the Apollo client the pages read through,
//   evictQueries(cache, documents) drops the cached root fields those documents select).
// - Plugin scripts load before any page renders (src/plugins.tsx, PluginsLoader) from the plugin's
//   concatenated /plugin/<id>/javascript (internal/api/routes_plugin.go).
// - The scene page (src/components/Scenes/SceneDetails/Scene.tsx): its scene comes from FindScene
//   through Apollo; a react-bootstrap Tab.Container whose <Nav variant="tabs"> holds
//   <ScenePageTabs {...props}> (PatchContainerComponent "ScenePage.Tabs", since v0.28.0) around the
//   Nav.Items, so arrow keys on the Nav switch tabs; Mousetrap binds single keys ("e": Edit);
//   props carry setTimestamp, which seeks the player.
// - The scene edit form (SceneEditPanel.tsx): formik with enableReinitialize, initial performer_ids
//   from the cached scene's performers; Save sends sceneUpdate with the whole performer list, then
//   evicts like useSceneUpdate.
// - The performer page (src/components/Performers/PerformerDetails/Performer.tsx): FindPerformer
//   through Apollo, PatchComponent "PerformerDetailsPanel".
// - The navigation bar (src/components/MainNavbar.tsx): its menu items inside PatchComponent
//   "MainNavBar.MenuItems" (a <Nav> around its children), on every page.
// - Plugin pages (src/pluginApi.tsx registerRoute): register.route(path, component) adds a
//   before-patch to PatchFunction "PluginRoutes" that appends a route for the path; PluginRoutes
//   renders where no page of Stash's own matched (the end of App.tsx's <Switch>). Routes match as
//   react-router v5's <Route path> does (the path or below it); the harness has no router of its
//   own, so PluginApi.libraries has no ReactRouterDOM and links are plain links.
// - The scene page starts its player at ?t=<seconds> (Scene.tsx reads the "t" query parameter).
// The harness server names the Stash version it plays (<html data-stash-version>, and the `version`
// query): below v0.28.0 there is no "ScenePage.Tabs" patch point (the tabs are plain), as in those
// releases.
import React, { useEffect, useState } from "react";
import ReactDOM from "react-dom";
import * as Bootstrap from "react-bootstrap";
import * as Apollo from "@apollo/client";
import { getQueryDefinition, isField } from "@apollo/client/utilities";
import Mousetrap from "mousetrap";

const { Nav, Tab, Button, Form } = Bootstrap;
const { ApolloClient, InMemoryCache, ApolloProvider, gql, useQuery } = Apollo;

const STASH_VERSION = document.documentElement.dataset.stashVersion || "v0.28.1";

function versionBelow(version, min) {
  const parse = (v) => v.replace(/^v/, "").split(/[.-]/).slice(0, 3).map((n) => parseInt(n, 10) || 0);
  const [a, b] = [parse(version), parse(min)];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}
const HAS_TABS_PATCH = !versionBelow(STASH_VERSION, "v0.28.0");

// ---- patching (what src/patch.tsx does, in the harness's own words) ----------------------------
const patches = { before: {}, instead: {}, after: {} };
const components = {};

function addPatch(kind, name, fn) {
  (patches[kind][name] = patches[kind][name] || []).push(fn);
}

function runInstead(fns, target, self, args) {
  let i = 0;
  const next = (...inner) => (i < fns.length ? fns[i++].apply(self, inner.concat([next])) : target.apply(self, inner));
  return next(...args);
}

function PatchFunction(name, fn) {
  return new Proxy(fn, {
    apply(target, self, argsIn) {
      let args = argsIn;
      for (const b of patches.before[name] || []) args = b.apply(self, args);
      let result = patches.instead[name] ? runInstead(patches.instead[name], target, self, args) : target.apply(self, args);
      for (const a of patches.after[name] || []) result = a.apply(self, args.concat([result]));
      return result;
    },
  });
}

function PatchComponent(name, fn) {
  if (components[name]) throw new Error(`Component ${name} has already been registered`);
  components[name] = PatchFunction(name, fn);
  return components[name];
}

function PatchContainerComponent(name) {
  return PatchComponent(name, (props) => <>{props.children}</>);
}

// ---- Apollo client and StashService --------------------------------------------------------------
const client = new ApolloClient({ uri: "graphql", cache: new InMemoryCache() });
window.__harnessClient = client;

function evictQueries(cache, documents) {
  const fields = {};
  for (const doc of documents) {
    for (const sel of getQueryDefinition(doc).selectionSet.selections) {
      if (isField(sel)) fields[sel.name.value] = (_value, { DELETE }) => DELETE;
    }
  }
  cache.modify({ fields });
  cache.gc();
}

const FIND_SCENE = gql`
  query FindScene($id: ID!) {
    findScene(id: $id) {
      id
      title
      performers {
        id
        name
        disambiguation
        image_path
      }
    }
  }
`;
const FIND_SCENES = gql`
  query FindScenes {
    findScenes {
      count
    }
  }
`;
const FIND_PERFORMER = gql`
  query FindPerformer($id: ID!) {
    findPerformer(id: $id) {
      id
      name
      disambiguation
      image_path
      stash_ids {
        endpoint
        stash_id
        updated_at
      }
    }
  }
`;
const SCENE_UPDATE = gql`
  mutation SceneUpdate($input: SceneUpdateInput!) {
    sceneUpdate(input: $input) {
      id
      performers {
        id
        name
        disambiguation
        image_path
      }
    }
  }
`;

// ---- plugin routes and the navigation bar ------------------------------------------------------
/** react-router v5's <Route path component>: renders when the location is the path or below it. */
function HarnessRoute({ path, component: Component }) {
  const here = window.location.pathname.replace(/\/+$/, "");
  const want = path.replace(/\/+$/, "");
  if (here !== want && !here.startsWith(`${want}/`)) return null;
  return <Component match={{ path, url: here, isExact: here === want, params: {} }} location={window.location} />;
}

function registerRoute(path, component) {
  addPatch("before", "PluginRoutes", (props) => [
    {
      children: (
        <>
          {props.children}
          <HarnessRoute path={path} component={component} />
        </>
      ),
    },
  ]);
}

const PluginRoutes = PatchFunction("PluginRoutes", (props) => <>{props.children}</>);

const MainNavbarMenuItems = PatchComponent("MainNavBar.MenuItems", (props) => <Nav>{props.children}</Nav>);

function MainNavbar() {
  return (
    <nav className="navbar top-nav">
      <MainNavbarMenuItems>
        {[["/scenes/1", "Scenes"], ["/performers/1", "Performers"]].map(([href, label]) => (
          <div key={href} className="col-4 col-sm-3 col-md-2 col-lg-auto nav-link">
            <a className="btn minimal p-4 p-xl-2" href={href}>
              {label}
            </a>
          </div>
        ))}
      </MainNavbarMenuItems>
    </nav>
  );
}

// ---- toasts (src/hooks/Toast.tsx shows them in a corner; the tests read #toasts) -----------------
function showToast(variant, message) {
  const list = document.getElementById("toasts");
  const item = document.createElement("div");
  item.className = `toast-item toast-${variant}`;
  item.textContent = String(message && message.message ? message.message : message);
  list.appendChild(item);
}
const toastApi = {
  success: (m) => showToast("success", m),
  error: (m) => showToast("error", m),
  toast: (t) => showToast((t && t.variant) || "info", t && t.content ? t.content : t),
};

window.PluginApi = {
  React,
  ReactDOM,
  GQL: {},
  libraries: { Bootstrap, Apollo, Mousetrap },
  components,
  register: { route: registerRoute, component: (name, fn) => (components[name] = fn) },
  hooks: { useToast: () => toastApi },
  utils: { StashService: { getClient: () => client, evictQueries }, NavUtils: {} },
  patch: {
    before: (name, fn) => addPatch("before", name, fn),
    instead: (name, fn) => addPatch("instead", name, fn),
    after: (name, fn) => addPatch("after", name, fn),
  },
};

// ---- scene page ------------------------------------------------------------------------------
const ScenePageTabs = HAS_TABS_PATCH ? PatchContainerComponent("ScenePage.Tabs") : (props) => <>{props.children}</>;

function SceneEditPanel({ scene }) {
  // formik with enableReinitialize: the form follows the cached scene until the user edits it.
  const initial = scene.performers.map((p) => p.id);
  const [ids, setIds] = useState(initial);
  useEffect(() => setIds(initial), [initial.join(",")]);
  const [saving, setSaving] = useState(false);
  const onSave = async () => {
    setSaving(true);
    await client.mutate({
      mutation: SCENE_UPDATE,
      variables: { input: { id: scene.id, title: scene.title, performer_ids: ids } },
      update: (cache) => evictQueries(cache, [FIND_SCENES]),
    });
    setSaving(false);
    toastApi.success("Updated scene");
  };
  return (
    <Form className="scene-edit-form" onSubmit={(e) => e.preventDefault()}>
      <div className="edit-performers">
        {ids.map((id) => (
          <span key={id} className="edit-performer" data-id={id}>
            {id}
          </span>
        ))}
      </div>
      <Button className="edit-save" variant="success" disabled={saving} onClick={onSave}>
        Save
      </Button>
    </Form>
  );
}

const ScenePage = PatchComponent("ScenePage", (props) => {
  const { scene } = props;
  const [activeTabKey, setActiveTabKey] = useState("scene-details-panel");
  useEffect(() => {
    Mousetrap.bind("a", () => setActiveTabKey("scene-details-panel"));
    Mousetrap.bind("i", () => setActiveTabKey("scene-file-info-panel"));
    Mousetrap.bind("e", () => setActiveTabKey("scene-edit-panel"));
    return () => ["a", "i", "e"].forEach((k) => Mousetrap.unbind(k));
  });
  return (
    <div className="scene-tabs">
      <h3 className="scene-header">{scene.title}</h3>
      <Tab.Container activeKey={activeTabKey} onSelect={(k) => k && setActiveTabKey(k)}>
        <div>
          <Nav variant="tabs" className="mr-auto">
            <ScenePageTabs {...props}>
              <Nav.Item>
                <Nav.Link eventKey="scene-details-panel">Details</Nav.Link>
              </Nav.Item>
              <Nav.Item>
                <Nav.Link eventKey="scene-markers-panel">Markers</Nav.Link>
              </Nav.Item>
              <Nav.Item>
                <Nav.Link eventKey="scene-video-filter-panel">Filters</Nav.Link>
              </Nav.Item>
              <Nav.Item>
                <Nav.Link eventKey="scene-file-info-panel">File Info</Nav.Link>
              </Nav.Item>
              <Nav.Item>
                <Nav.Link eventKey="scene-history-panel">History</Nav.Link>
              </Nav.Item>
              <Nav.Item>
                <Nav.Link eventKey="scene-edit-panel">Edit</Nav.Link>
              </Nav.Item>
            </ScenePageTabs>
          </Nav>
        </div>
        <Tab.Content>
          <Tab.Pane eventKey="scene-details-panel">
            <div className="scene-performers">
              Performers:{" "}
              {scene.performers.map((p) => (
                <a key={p.id} className="performer-tag" href={`/performers/${p.id}`}>
                  {p.name}
                </a>
              ))}
            </div>
          </Tab.Pane>
          <Tab.Pane eventKey="scene-markers-panel">Markers</Tab.Pane>
          <Tab.Pane eventKey="scene-video-filter-panel">Filters</Tab.Pane>
          <Tab.Pane eventKey="scene-file-info-panel">File info</Tab.Pane>
          <Tab.Pane eventKey="scene-history-panel">History</Tab.Pane>
          <Tab.Pane eventKey="scene-edit-panel" mountOnEnter>
            <SceneEditPanel scene={scene} />
          </Tab.Pane>
        </Tab.Content>
      </Tab.Container>
    </div>
  );
});

function SceneLoader({ id }) {
  const { data, error } = useQuery(FIND_SCENE, { variables: { id } });
  const [time, setTime] = useState(() => Number(new URLSearchParams(window.location.search).get("t")) || 0);
  if (error) return <div className="harness-error">{error.message}</div>;
  if (!data) return <div>Loading…</div>;
  if (!data.findScene) return <div className="harness-error">no such scene</div>;
  // Stash's player sits beside the tabs; setTimestamp seeks it (ScenePlayer).
  return (
    <div className="row scene-layout">
      <ScenePage scene={data.findScene} setTimestamp={(t) => setTime(t)} />
      <div className="scene-player-container">
        <div className="harness-player" data-time={String(time)}>
          player at {time} s
        </div>
      </div>
    </div>
  );
}

// ---- performer page --------------------------------------------------------------------------
const PerformerDetailsPanel = PatchComponent("PerformerDetailsPanel", ({ performer }) => (
  <div className="detail-group">
    <div className="performer-stash-ids" data-count={performer.stash_ids.length}>
      {performer.stash_ids.map((s) => (
        <div key={`${s.endpoint} ${s.stash_id}`} className="performer-stash-id">
          {s.endpoint}: {s.stash_id}
        </div>
      ))}
    </div>
  </div>
));

function PerformerLoader({ id }) {
  const { data, error } = useQuery(FIND_PERFORMER, { variables: { id } });
  if (error) return <div className="harness-error">{error.message}</div>;
  if (!data) return <div>Loading…</div>;
  const performer = data.findPerformer;
  return (
    <div className="performer-page">
      <h2 className="performer-name">{performer.name}</h2>
      <PerformerDetailsPanel performer={performer} />
    </div>
  );
}

// Settings > Tools (src/components/Settings/SettingsToolsPanel.tsx since v0.29: two sections, each a
// PatchContainerComponent "SettingsToolsSection" of Settings, "Setting" a PatchComponent).
const SettingsToolsSection = PatchContainerComponent("SettingsToolsSection");
const Setting = PatchComponent("Setting", ({ heading, children }) => (
  <div className="setting">
    <div>
      <h3>{heading}</h3>
    </div>
    <div>{children}</div>
  </div>
));

function SettingsToolsPanel() {
  const tool = (href, label) => <Setting heading={<a href={href}><Button>{label}</Button></a>} />; // prettier-ignore
  return (
    <div className="settings-tools">
      <div className="setting-section" data-heading="Tools">
        <SettingsToolsSection>{tool("/playground", "GraphQL playground")}</SettingsToolsSection>
      </div>
      <div className="setting-section" data-heading="Scene Tools">
        <SettingsToolsSection>
          {tool("/sceneFilenameParser", "Scene Filename Parser")}
          {tool("/sceneDuplicateChecker", "Scene Duplicate Checker")}
        </SettingsToolsSection>
      </div>
    </div>
  );
}

function App() {
  const [, kind, id] = window.location.pathname.match(/^\/(scenes|performers)\/(\d+)$/) || [];
  let page;
  if (kind === "performers") page = <PerformerLoader id={id} />;
  else if (kind === "scenes" || window.location.pathname === "/") page = <SceneLoader id={id || "1"} />;
  else if (window.location.pathname === "/settings") page = <SettingsToolsPanel />;
  else page = <PluginRoutes />;
  return (
    <ApolloProvider client={client}>
      <div className="harness-version" data-version={STASH_VERSION} />
      <MainNavbar />
      {page}
    </ApolloProvider>
  );
}

// PluginsLoader: the plugins' scripts load and run before the routes render.
const script = document.createElement("script");
script.src = "plugin/stash-sense/javascript";
script.onload = script.onerror = () => ReactDOM.render(<App />, document.getElementById("root"));
document.head.appendChild(script);
