//! The server's modules form floors, not a circle: no top-level module of `earshot-server`
//! reaches, through `crate::…` or `super::…` paths, a module that reaches it back.
//!
//! The graph is read from the source with `syn`: every path in code (imports, calls, types,
//! macro bodies such as `html!` and `json!`) counts; comments and doc links do not, nor do
//! `#[cfg(test)]` items (a module's own tests may wire anything up, as integration tests do).
//! A cycle is reported as a path, each step with the file and the path that makes it.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One reason for an edge: the file and the path written there.
#[derive(Debug, Clone)]
struct Why {
    file: String,
    path: String,
}

/// Top-level module → the top-level modules it names, with the first place it does.
type Graph = BTreeMap<String, BTreeMap<String, Why>>;

/// Whether an item only exists in test builds (`#[cfg(test)]`, `#[cfg(all(test, …))]`).
fn test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .map(|l| {
                    l.tokens
                        .clone()
                        .into_iter()
                        .any(|t| matches!(&t, TokenTree::Ident(i) if i == "test"))
                })
                .unwrap_or(false)
    })
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item::*;
    match item {
        Const(i) => &i.attrs,
        Enum(i) => &i.attrs,
        ExternCrate(i) => &i.attrs,
        Fn(i) => &i.attrs,
        ForeignMod(i) => &i.attrs,
        Impl(i) => &i.attrs,
        Macro(i) => &i.attrs,
        Mod(i) => &i.attrs,
        Static(i) => &i.attrs,
        Struct(i) => &i.attrs,
        Trait(i) => &i.attrs,
        TraitAlias(i) => &i.attrs,
        Type(i) => &i.attrs,
        Union(i) => &i.attrs,
        Use(i) => &i.attrs,
        _ => &[],
    }
}

/// What the crate root declares: its modules, and the names it re-exports (`pub use
/// desk::Desk;` makes `crate::Desk` a path into `desk`).
struct Root {
    modules: BTreeSet<String>,
    aliases: BTreeMap<String, String>,
}

fn read_root(lib: &syn::File) -> Root {
    let mut modules = BTreeSet::new();
    let mut aliases = BTreeMap::new();
    for item in &lib.items {
        if test_only(item_attrs(item)) {
            continue;
        }
        match item {
            syn::Item::Mod(m) => {
                modules.insert(m.ident.to_string());
            }
            syn::Item::Use(u) => {
                // `pub use a::b::C;` → C is in a; `pub use a::b::{C, D};` likewise.
                fn walk(
                    tree: &syn::UseTree,
                    first: Option<&str>,
                    out: &mut BTreeMap<String, String>,
                ) {
                    match tree {
                        syn::UseTree::Path(p) => {
                            let name = p.ident.to_string();
                            let first = first.unwrap_or(&name).to_string();
                            walk(&p.tree, Some(&first), out);
                        }
                        syn::UseTree::Name(n) => {
                            if let Some(f) = first {
                                out.insert(n.ident.to_string(), f.to_string());
                            }
                        }
                        syn::UseTree::Rename(r) => {
                            if let Some(f) = first {
                                out.insert(r.rename.to_string(), f.to_string());
                            }
                        }
                        syn::UseTree::Group(g) => {
                            for t in &g.items {
                                walk(t, first, out);
                            }
                        }
                        syn::UseTree::Glob(_) => {}
                    }
                }
                walk(&u.tree, None, &mut aliases);
            }
            _ => {}
        }
    }
    Root { modules, aliases }
}

fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!(
        (tokens.get(i), tokens.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

/// The first name of each path in a `{a, b::c, self}` group.
fn group_heads(group: &proc_macro2::Group) -> Vec<String> {
    let mut heads = vec![];
    let mut at_start = true;
    for t in group.stream() {
        match &t {
            TokenTree::Punct(p) if p.as_char() == ',' => at_start = true,
            TokenTree::Ident(i) if at_start => {
                heads.push(i.to_string());
                at_start = false;
            }
            _ => at_start = false,
        }
    }
    heads
}

/// Collects the top-level modules the tokens name, seen from module `here` (its full path).
fn scan(tokens: TokenStream, here: &[String], root: &Root, out: &mut Vec<(String, String)>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => scan(g.stream(), here, root, out),
            TokenTree::Ident(id)
                if (id == "crate" || id == "super") && is_path_sep(&tokens, i + 1) =>
            {
                // Where the path starts: the crate root, or `here` less one module per `super`.
                let mut base: Vec<String> = if id == "crate" { vec![] } else { here.to_vec() };
                let mut j = i;
                let mut written = String::from(if id == "crate" { "crate" } else { "" });
                if id == "super" {
                    while matches!(&tokens.get(j), Some(TokenTree::Ident(s)) if s == "super")
                        && is_path_sep(&tokens, j + 1)
                    {
                        base.pop();
                        written.push_str(if written.is_empty() {
                            "super"
                        } else {
                            "::super"
                        });
                        j += 3;
                    }
                } else {
                    j += 3;
                }
                let names = match tokens.get(j) {
                    Some(TokenTree::Ident(n)) => vec![n.to_string()],
                    Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                        // Still look inside, for paths nested in the group.
                        scan(g.stream(), here, root, out);
                        group_heads(g)
                    }
                    _ => vec![],
                };
                for name in names {
                    let top = match base.first() {
                        Some(top) => Some(top.clone()),
                        None if root.modules.contains(&name) => Some(name.clone()),
                        None => root.aliases.get(&name).cloned(),
                    };
                    if let Some(top) = top {
                        out.push((top, format!("{written}::{name}")));
                    }
                }
                i = j + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// Walks a file's items in module `here`, skipping test-only ones.
fn scan_items(items: &[syn::Item], here: &[String], root: &Root, out: &mut Vec<(String, String)>) {
    for item in items {
        if test_only(item_attrs(item)) {
            continue;
        }
        match item {
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let mut path = here.to_vec();
                    path.push(m.ident.to_string());
                    scan_items(inner, &path, root, out);
                }
            }
            other => scan(other.to_token_stream(), here, root, out),
        }
    }
}

/// The module path of a source file: `web/pages/inbox.rs` → web::pages::inbox;
/// `web/mod.rs` → web.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Builds the graph from `(relative file, source)` pairs; `lib.rs` is the root.
fn graph_of(files: &[(PathBuf, String)]) -> Result<Graph, String> {
    let lib = files
        .iter()
        .find(|(p, _)| p == Path::new("lib.rs"))
        .ok_or("no lib.rs")?;
    let root = read_root(&syn::parse_file(&lib.1).map_err(|e| format!("lib.rs: {e}"))?);
    let mut graph: Graph = root
        .modules
        .iter()
        .map(|m| (m.clone(), BTreeMap::new()))
        .collect();
    for (rel, source) in files {
        if rel == Path::new("lib.rs") {
            continue;
        }
        let here = module_path(rel);
        let Some(top) = here.first().filter(|t| root.modules.contains(*t)).cloned() else {
            continue; // not part of the crate's module tree (a stray file)
        };
        let file = syn::parse_file(source).map_err(|e| format!("{}: {e}", rel.display()))?;
        let mut named = vec![];
        scan_items(&file.items, &here, &root, &mut named);
        let edges = graph.entry(top.clone()).or_default();
        for (to, path) in named {
            if to != top {
                edges.entry(to).or_insert_with(|| Why {
                    file: rel.display().to_string(),
                    path,
                });
            }
        }
    }
    Ok(graph)
}

/// Strongly connected groups of more than one module (Tarjan), each sorted.
fn tangles(graph: &Graph) -> Vec<Vec<String>> {
    struct T<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(t: &mut T<'g>, v: &'g str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on_stack.insert(v);
        for w in t.graph.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on_stack.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut group = vec![];
            while let Some(w) = t.stack.pop() {
                t.on_stack.remove(w);
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                t.out.push(group);
            }
        }
    }
    let mut t = T {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on_stack: BTreeSet::new(),
        next: 0,
        out: vec![],
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out.sort();
    t.out
}

/// The shortest way from `start` back to itself inside `group`, as module names.
fn shortest_cycle(graph: &Graph, group: &[String], start: &str) -> Vec<String> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut frontier = vec![start.to_string()];
    while !frontier.is_empty() {
        let mut next = vec![];
        for v in frontier {
            for w in graph.get(&v).into_iter().flat_map(|e| e.keys()) {
                if !group.contains(w) {
                    continue;
                }
                if w == start {
                    let mut path = vec![start.to_string()];
                    let mut at = v.clone();
                    while at != start {
                        path.push(at.clone());
                        at = came_from[&at].clone();
                    }
                    path.push(start.to_string());
                    let last = path.len() - 1;
                    path[1..last].reverse();
                    return path;
                }
                if !came_from.contains_key(w) {
                    came_from.insert(w.clone(), v.clone());
                    next.push(w.clone());
                }
            }
        }
        frontier = next;
    }
    vec![]
}

/// A readable account of each tangle: its modules, and one cycle through it step by step.
fn describe(graph: &Graph, tangles: &[Vec<String>]) -> String {
    let mut s = String::new();
    for group in tangles {
        s.push_str(&format!("modules in one circle: {}\n", group.join(", ")));
        let cycle = shortest_cycle(graph, group, &group[0]);
        s.push_str(&format!("  for example: {}\n", cycle.join(" → ")));
        for pair in cycle.windows(2) {
            let why = &graph[&pair[0]][&pair[1]];
            s.push_str(&format!(
                "    {} → {}: {} names `{}`\n",
                pair[0], pair[1], why.file, why.path
            ));
        }
        s.push_str("  every step inside it:\n");
        for from in group {
            let to: Vec<String> = graph[from]
                .iter()
                .filter(|(to, _)| group.contains(to))
                .map(|(to, why)| format!("{to} ({} `{}`)", why.file, why.path))
                .collect();
            s.push_str(&format!("    {from} → {}\n", to.join(", ")));
        }
    }
    s
}

fn server_sources() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let source =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let rel = p.strip_prefix(&src).map(Path::to_path_buf).unwrap_or(p);
            (rel, source)
        })
        .collect()
}

#[test]
fn the_servers_modules_have_no_cycle() {
    let graph = graph_of(&server_sources()).unwrap_or_else(|e| panic!("{e}"));
    // The reading works: the application wires the desk and the pipeline.
    assert!(graph["app"].contains_key("desk"), "{graph:#?}");
    assert!(graph["desk"].contains_key("pipeline"), "{graph:#?}");
    let found = tangles(&graph);
    assert!(
        found.is_empty(),
        "the server's modules import each other in a circle:\n{}",
        describe(&graph, &found)
    );
}

fn files(sources: &[(&str, &str)]) -> Vec<(PathBuf, String)> {
    sources
        .iter()
        .map(|(p, s)| (PathBuf::from(p), s.to_string()))
        .collect()
}

#[test]
fn a_circle_is_found_and_told_as_a_path() {
    let graph = graph_of(&files(&[
        ("lib.rs", "pub mod desk; pub mod pipeline; pub mod triage; pub mod web; pub use desk::Desk;"),
        ("desk/mod.rs", "pub mod releases; use crate::pipeline::Pipeline;"),
        // `super::super` from desk::releases is the root: this names `web`.
        ("desk/releases.rs", "fn f() { super::super::web::page(); }"),
        // A group from the root names each of its heads.
        ("pipeline.rs", "use super::{triage::Triage, web};"),
        // A path inside a macro counts; a doc link and a test module do not.
        ("triage.rs", "/// See [`crate::web`].\nfn f() { json!({ \"a\": crate::Desk::new() }); }\n#[cfg(test)] mod tests { use crate::web::x; }"),
        ("web/mod.rs", "pub fn page() {}"),
    ]))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(graph["desk"].contains_key("web"), "{graph:#?}");
    assert!(
        graph["triage"].contains_key("desk"),
        "crate::Desk is desk's: {graph:#?}"
    );
    assert!(
        !graph["triage"].contains_key("web"),
        "doc links and tests do not count"
    );
    assert!(graph["pipeline"].contains_key("web"), "{graph:#?}");
    let found = tangles(&graph);
    assert_eq!(found, vec![vec!["desk", "pipeline", "triage"]]);
    let told = describe(&graph, &found);
    assert!(told.contains("desk → pipeline → triage → desk"), "{told}");
    assert!(told.contains("triage.rs names `crate::Desk`"), "{told}");
}

#[test]
fn floors_without_a_circle_pass() {
    let graph = graph_of(&files(&[
        ("lib.rs", "mod a; mod b; mod c;"),
        ("a.rs", "use crate::{b, c::X};"),
        ("b.rs", "use crate::c;"),
        ("c.rs", "fn f() {}"),
    ]))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(graph["a"].keys().collect::<Vec<_>>(), ["b", "c"]);
    assert!(tangles(&graph).is_empty());
}
