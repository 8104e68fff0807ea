#!/usr/bin/env node
// Prints the module import graph of each Rust crate in this repository and fails if it has
// a cycle. Two views per crate: modules (one per file) and top-level layers (src/<name>/ or
// src/<name>.rs). An edge A -> B means a file of A names a path in B (`use crate::b::…`,
// `super::…`, or an inline `crate::b::…`). A parent naming its own submodules (a `mod.rs`
// re-exporting or typing its children) is not counted: only the other direction can close
// a loop. Unit tests (`#[cfg(test)]` to the end of a file) are not read. Usage: node scripts/import-graph.mjs [--edges] [crate-dir…]
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const args = process.argv.slice(2);
const showEdges = args.includes("--edges");
const dirs = args.filter((a) => !a.startsWith("--"));
const crates = dirs.length ? dirs : ["server", "app", "bench", ...listCrates("crates")];

function listCrates(dir) {
  try {
    return readdirSync(dir).map((name) => join(dir, name)).filter((p) => statSync(join(p, "src")).isDirectory());
  } catch {
    return [];
  }
}

function rustFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return rustFiles(path);
    return path.endsWith(".rs") ? [path] : [];
  });
}

// src/chat/feed.rs -> ["chat","feed"]; src/chat/mod.rs -> ["chat"]; src/lib.rs -> []
function modulePath(src, file) {
  const parts = relative(src, file).replace(/\.rs$/, "").split("/");
  const last = parts[parts.length - 1];
  if (last === "mod" || ((last === "lib" || last === "main") && parts.length === 1)) parts.pop();
  return parts;
}

// Strips comments, string literals and the unit tests at the end of a file (`#[cfg(test)]`
// onwards: their `super` is the file itself) so that only the module's own code is read.
function code(text) {
  const tests = text.indexOf("#[cfg(test)]");
  if (tests >= 0) text = text.slice(0, tests);
  return text
    .replace(/\/\/[^\n]*/g, "")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/r#+"[\s\S]*?"#+/g, '""')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

// Expands `a::{b, c::{d, e}}` into ["a::b", "a::c::d", "a::c::e"].
function expand(tree) {
  tree = tree.trim();
  const open = tree.indexOf("{");
  if (open < 0) return [tree.split(/\s+as\s+/)[0].trim()];
  const prefix = tree.slice(0, open);
  const inner = tree.slice(open + 1, tree.lastIndexOf("}"));
  const items = [];
  let depth = 0, start = 0;
  for (let i = 0; i < inner.length; i++) {
    if (inner[i] === "{") depth++;
    else if (inner[i] === "}") depth--;
    else if (inner[i] === "," && depth === 0) { items.push(inner.slice(start, i)); start = i + 1; }
  }
  items.push(inner.slice(start));
  return items.filter((s) => s.trim()).flatMap((item) => expand(prefix + item.trim()));
}

// Resolves a path as written in module `from` to the longest known module it names.
function resolve(path, from, known) {
  let segments = path.split("::").map((s) => s.trim()).filter(Boolean);
  let base;
  if (segments[0] === "crate") { base = []; segments = segments.slice(1); }
  else if (segments[0] === "self") { base = [...from]; segments = segments.slice(1); }
  else if (segments[0] === "super") {
    base = [...from];
    while (segments[0] === "super") { base.pop(); segments = segments.slice(1); }
  } else return null;
  const full = [...base, ...segments];
  for (let n = full.length; n >= 0; n--) {
    const key = full.slice(0, n).join("::");
    if (known.has(key)) return key;
  }
  return null;
}

function findCycle(graph) {
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, 1);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 1) return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) { const found = visit(next); if (found) return found; }
    }
    stack.pop();
    state.set(node, 2);
    return null;
  };
  for (const node of graph.keys()) if (!state.has(node)) { const found = visit(node); if (found) return found; }
  return null;
}

let failed = false;
for (const crate of crates) {
  const src = join(crate, "src");
  const files = rustFiles(src);
  const modules = new Map(files.map((f) => [modulePath(src, f).join("::"), f]));
  const known = new Set(modules.keys());
  const graph = new Map([...known].map((m) => [m, new Set()]));
  for (const [module, file] of modules) {
    const from = module ? module.split("::") : [];
    const text = code(readFileSync(file, "utf8"));
    const paths = [];
    for (const m of text.matchAll(/\buse\s+([^;]+);/g)) paths.push(...expand(m[1]));
    for (const m of text.matchAll(/\b(?:crate|super)(?:::\w+)+/g)) paths.push(m[0]);
    for (const path of paths) {
      const target = resolve(path, from, known);
      if (target === null || target === module) continue;
      const isDescendant = module === "" || target.startsWith(module + "::");
      if (isDescendant) continue; // a parent naming its own submodules
      graph.get(module).add(target);
    }
  }
  const layerOf = (m) => m.split("::")[0] || "(root)";
  const layers = new Map();
  for (const [module, targets] of graph) {
    const from = layerOf(module);
    if (!layers.has(from)) layers.set(from, new Set());
    for (const t of targets) if (layerOf(t) !== from && module !== "") layers.get(from).add(layerOf(t));
  }
  const moduleCycle = findCycle(graph);
  const layerCycle = findCycle(layers);
  console.log(`## ${crate}: ${known.size} modules`);
  for (const [layer, targets] of [...layers].sort()) {
    console.log(`  ${layer} -> ${[...targets].sort().join(", ") || "(nothing of ours)"}`);
  }
  if (showEdges) {
    for (const [module, targets] of [...graph].sort()) {
      if (targets.size) console.log(`    ${module || "(root)"} -> ${[...targets].sort().join(", ")}`);
    }
  }
  for (const [what, cycle] of [["modules", moduleCycle], ["layers", layerCycle]]) {
    if (cycle) { failed = true; console.log(`  CYCLE among ${what}: ${cycle.map((m) => m || "(root)").join(" -> ")}`); }
  }
  if (!moduleCycle && !layerCycle) console.log("  no cycles");
}
process.exit(failed ? 1 : 0);
