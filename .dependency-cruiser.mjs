/**
 * Weir's module layering, checked by `npm run lint` with dependency-cruiser
 * (docs/architecture.md#layers-and-the-rules-lint-enforces explains each layer).
 *
 * Layers, bottom up. A module may import its own folder and the layers below its own; not a layer
 * above, and not a peer folder of its own layer. Type-only imports (`import type`) count like any
 * other: a type is a dependency of the design even when the compiler erases it.
 */
const LAYERS = [
  ["errors.ts"],
  ["util"],
  ["log", "schema", "time"],
  ["sinks", "sources"],
  ["graph"],
  ["operators"],
  ["api"],
  ["runtime"],
  ["kafka", "warehouse", "testing"],
  ["dashboard", "report", "generate"],
  ["embed"],
  ["index.ts"],
  ["cli"],
];

/** The path pattern of a folder (or a single file) of src/. */
const pathOf = (name) => (name.endsWith(".ts") ? `^src/${name.replace(".", "\\.")}$` : `^src/${name}/`);
const anyOf = (names) => names.map(pathOf).join("|");

const layerRules = LAYERS.flatMap((layer, i) => {
  const above = LAYERS.slice(i + 1).flat();
  return layer.flatMap((name) => {
    const peers = layer.filter((other) => other !== name);
    const forbidden = [...above, ...peers];
    if (forbidden.length === 0) return []; // the top layer may import every other
    return {
      name: `layer-${name.replace(".ts", "")}`,
      comment:
        `src/${name} may import only the layers below it (see LAYERS in .dependency-cruiser.mjs), ` +
        `not ${forbidden.map((n) => `src/${n}`).join(", ")}`,
      severity: "error",
      from: { path: pathOf(name) },
      to: { path: anyOf(forbidden) },
    };
  });
});

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: "no-circular",
      comment:
        "import cycles (type-only imports included) make modules that cannot be read, tested or " +
        "loaded one at a time: move what both sides need to a lower module",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-cli",
      comment:
        "only the CLI itself (and its tests) may import src/cli: what a lower layer needs from it " +
        "belongs in a lower module",
      severity: "error",
      from: { path: "^(src|examples|bench)/", pathNot: "^src/cli/" },
      to: { path: "^src/cli/" },
    },
    {
      name: "src-in-a-layer",
      comment:
        "every folder of src/ has a place in LAYERS (.dependency-cruiser.mjs) and a row in " +
        "docs/architecture.md: add a new one there",
      severity: "error",
      from: { path: "^src/", pathNot: anyOf(LAYERS.flat()) },
      to: {},
    },
    {
      name: "examples-from-cli-only",
      comment: "the example pipelines are user code: only the CLI (`weir run <example>`) loads them",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/cli/" },
      to: { path: "^examples/" },
    },
    {
      name: "src-not-to-tests",
      comment: "src/ does not import tests, benchmarks or build output",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|dist)/" },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // See `import type` too, so that the rules above cover type-only imports.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    progress: { type: "none" },
  },
};
