/**
 * SVG to PNG without a browser, with `@resvg/resvg-js` (Rust's resvg as a native Node addon). It
 * is loaded only when a report asks for PNGs; when it cannot be loaded the report skips its PNGs
 * and says why.
 */

export interface PngRenderer {
  /** PNG bytes of an SVG document, `width` pixels wide. */
  render(svg: string, width: number): Buffer;
}

/** The renderer, or the reason there is none. */
export async function loadPngRenderer(): Promise<PngRenderer | { unavailable: string }> {
  let Resvg: typeof import("@resvg/resvg-js").Resvg;
  try {
    ({ Resvg } = await import("@resvg/resvg-js"));
  } catch (err) {
    return {
      unavailable: `@resvg/resvg-js cannot be loaded (${(err as Error).message.split("\n")[0]}); install it with \`npm install @resvg/resvg-js\``,
    };
  }
  return {
    render(svg, width) {
      const resvg = new Resvg(svg, {
        fitTo: { mode: "width", value: width },
        background: "#ffffff",
        font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
      });
      return resvg.render().asPng();
    },
  };
}
