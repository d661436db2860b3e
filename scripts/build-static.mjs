// Copies the front-end packages' distribution files from node_modules/ into static_build/vendor/
// (git-ignored; whitenoise serves it through STATICFILES_DIRS). No bundler: the pages load the
// packages' own minified builds. Source maps are copied too, because Django's manifest storage
// follows the sourceMappingURL comments and fails collectstatic when a map is missing.
//
// To add a package: `npm install --save-exact <name>`, then add its files to COPIES.
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const out = join(root, "static_build", "vendor");

// [source inside node_modules, destination inside static_build/vendor]
const COPIES = [
  ["@tabler/core/dist/css/tabler.min.css", "tabler/css/tabler.min.css"],
  ["@tabler/core/dist/css/tabler.min.css.map", "tabler/css/tabler.min.css.map"],
  ["@tabler/core/dist/js/tabler.min.js", "tabler/js/tabler.min.js"],
  ["@tabler/core/dist/js/tabler.min.js.map", "tabler/js/tabler.min.js.map"],
  ["@tabler/core/dist/js/tabler-theme.min.js", "tabler/js/tabler-theme.min.js"],
  ["@tabler/core/dist/js/tabler-theme.min.js.map", "tabler/js/tabler-theme.min.js.map"],
  ["@tabler/icons-webfont/dist/tabler-icons.min.css", "tabler-icons/tabler-icons.min.css"],
  ["@tabler/icons-webfont/dist/fonts/tabler-icons.woff2", "tabler-icons/fonts/tabler-icons.woff2"],
  ["@tabler/icons-webfont/dist/fonts/tabler-icons.woff", "tabler-icons/fonts/tabler-icons.woff"],
  ["@tabler/icons-webfont/dist/fonts/tabler-icons.ttf", "tabler-icons/fonts/tabler-icons.ttf"],
  ["htmx.org/dist/htmx.min.js", "htmx/htmx.min.js"],
  ["chart.js/dist/chart.umd.min.js", "chartjs/chart.umd.min.js"],
  ["chart.js/dist/chart.umd.min.js.map", "chartjs/chart.umd.min.js.map"],
];

rmSync(out, { recursive: true, force: true });
let missing = 0;
for (const [from, to] of COPIES) {
  const src = join(modules, from);
  if (!existsSync(src)) {
    console.error(`missing ${src} (run npm ci first)`);
    missing += 1;
    continue;
  }
  const dest = join(out, to);
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(src, dest);
}
if (missing) process.exit(1);
console.log(`static_build/vendor: ${COPIES.length} files copied`);
