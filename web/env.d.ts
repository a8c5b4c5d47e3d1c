// CSS imported for its side effect: esbuild bundles it into dist/web/app.css.
declare module "*.css";
