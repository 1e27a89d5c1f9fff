// Test harness: window.PluginApi as Stash's UI provides it, with the real React and ReactDOM.
// Components are patched the way Stash does it: a named component is wrapped in a Proxy whose call
// runs the registered before / instead / after functions (read at render time), and it is listed in
// PluginApi.components. Toasts go to #toasts so tests can read them.
(function () {
  "use strict";
  const React = window.React;
  const ReactDOM = window.ReactDOM;
  const before = {};
  const instead = {};
  const after = {};
  const components = {};

  function add(table, name, fn) {
    (table[name] = table[name] || []).push(fn);
  }

  function callInstead(fns, target, self, args) {
    // fns[0](...args, next) where next() is fns[1] bound the same way, the last one the target.
    function link(i) {
      if (i >= fns.length) return target;
      return function (...inner) {
        return fns[i].apply(this, inner.concat([link(i + 1)]));
      };
    }
    return fns[0].apply(self, args.concat([link(1)]));
  }

  function patchFunction(name, fn) {
    return new Proxy(fn, {
      apply(target, self, argsIn) {
        let args = argsIn;
        for (const b of before[name] || []) args = b.apply(self, args);
        let result = instead[name] ? callInstead(instead[name], target, self, args) : target.apply(self, args);
        for (const a of after[name] || []) result = a.apply(self, args.concat([result]));
        return result;
      },
    });
  }

  function PatchComponent(name, fn) {
    if (components[name]) throw new Error(`Component ${name} has already been registered`);
    const patched = patchFunction(name, fn);
    components[name] = patched;
    return patched;
  }

  function PatchContainerComponent(name) {
    return PatchComponent(name, (props) => React.createElement(React.Fragment, null, props.children));
  }

  function showToast(variant, message) {
    const list = document.getElementById("toasts");
    if (!list) return;
    const item = document.createElement("div");
    item.className = `toast-item toast-${variant}`;
    item.textContent = String(message && message.message ? message.message : message);
    list.appendChild(item);
  }

  const toastApi = {
    success: (m) => showToast("success", m),
    error: (m) => showToast("error", m),
    toast: (t) => showToast(t && t.variant ? t.variant : "info", t && t.content ? t.content : t),
  };

  window.PluginApi = {
    React,
    ReactDOM,
    GQL: {},
    libraries: {},
    components,
    register: {
      route() {},
      component: (name, fn) => {
        components[name] = fn;
      },
    },
    hooks: { useToast: () => toastApi },
    utils: {},
    patch: {
      before: (name, fn) => add(before, name, fn),
      instead: (name, fn) => add(instead, name, fn),
      after: (name, fn) => add(after, name, fn),
    },
  };
  // What Stash's own UI code uses to declare patchable components (not part of PluginApi).
  window.__harness = { PatchComponent, PatchContainerComponent };
})();
