//! The layering of the README's "Architecture" section, held against the code:
//! every path a file of `src/` names (`use` lines and inline paths, comments
//! left out) must stay within what its layer may use.

use std::path::{Path, PathBuf};

/// A layer, what it must never name, and why.
struct Rule {
    layer: &'static str,
    forbidden: &'static [&'static str],
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        layer: "store",
        forbidden: &[
            "crate::accounts",
            "crate::mail",
            "crate::http",
            "crate::grpc",
            "crate::limits",
            "crate::revocations",
            "crate::templates",
            "crate::webhooks",
        ],
        why: "the store keeps rows and SQL, never rules, limits, mail, webhooks or HTTP",
    },
    Rule {
        layer: "accounts",
        forbidden: &[
            "crate::http",
            "crate::grpc",
            "axum",
            "tonic",
            "tower",
            "tower_http",
            "utoipa",
            "utoipa_axum",
            "sqlx",
        ],
        why: "the core knows nothing of HTTP or gRPC, and reaches the database only through the store",
    },
    Rule {
        layer: "http",
        forbidden: &[
            "crate::store",
            "crate::mail",
            "crate::limits",
            "crate::revocations",
            "crate::grpc",
            "crate::webhooks",
            "sqlx",
            "lettre",
            "tonic",
        ],
        why: "handlers call the core, never the store, the mail, the webhooks or the limiter directly",
    },
    Rule {
        layer: "grpc",
        forbidden: &[
            "crate::store",
            "crate::mail",
            "crate::limits",
            "crate::revocations",
            "crate::webhooks",
            "crate::http",
            "sqlx",
            "lettre",
            "axum",
        ],
        why: "the gRPC door calls the core like the HTTP door does, never the store, the mail, the webhooks, the limiter, the broadcast or the other door",
    },
    Rule {
        layer: "mail",
        forbidden: &[
            "crate::accounts",
            "crate::http",
            "crate::grpc",
            "crate::limits",
            "crate::webhooks",
            "axum",
        ],
        why: "mail sends what the core queued; it never calls back up",
    },
    Rule {
        layer: "webhooks",
        forbidden: &[
            "crate::accounts",
            "crate::http",
            "crate::grpc",
            "crate::limits",
            "crate::mail",
            "crate::revocations",
            "axum",
            "lettre",
        ],
        why: "webhooks deliver what the core queued; they never call back up, nor into mail",
    },
    Rule {
        layer: "limits",
        forbidden: &[
            "crate::accounts",
            "crate::http",
            "crate::grpc",
            "crate::store",
            "crate::mail",
            "crate::webhooks",
            "axum",
            "tower",
            "tower_http",
            "utoipa",
            "sqlx",
            "lettre",
        ],
        why: "the limiter is told a policy and a subject and answers; it knows no flow, door, table or mail",
    },
    Rule {
        layer: "revocations",
        forbidden: &[
            "crate::accounts",
            "crate::http",
            "crate::grpc",
            "crate::mail",
            "crate::limits",
            "crate::webhooks",
            "axum",
            "tower",
            "tower_http",
            "utoipa",
        ],
        why: "the broadcast carries what the core revoked; it knows no flow or door",
    },
];

/// Leaves every layer may use; they use no layer themselves.
const LEAVES: &[&str] = &[
    "config",
    "clock",
    "delivery",
    "healthcheck",
    "request_headers",
    "secrets",
    "templates",
    "telemetry",
    "tls",
];
const LAYERS: &[&str] = &[
    "crate::accounts",
    "crate::grpc",
    "crate::http",
    "crate::limits",
    "crate::mail",
    "crate::revocations",
    "crate::store",
    "crate::webhooks",
];

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer of a file: its first folder under `src/`, or its file stem.
fn layer_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("file under src");
    let first = relative.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_owned()
}

/// Every path the code names that starts with one of `roots`, e.g. `crate::store`
/// or `axum`, as written (`use` lines, `crate::x::y` inline, `use axum::{…}`).
fn named_paths(code: &str, roots: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or_default();
        for root in roots {
            let mut rest = line;
            while let Some(at) = rest.find(root) {
                let before = rest[..at].chars().next_back();
                let after = rest[at + root.len()..].chars().next();
                let starts_a_path =
                    before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
                let ends_the_name = after.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                if starts_a_path && ends_the_name {
                    found.push(root.to_string());
                }
                rest = &rest[at + root.len()..];
            }
        }
    }
    found
}

fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    source_files(src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let layer = layer_of(src, &file);
        let code = std::fs::read_to_string(&file).expect("source is UTF-8");
        let (forbidden, why): (&[&str], &str) =
            if let Some(rule) = RULES.iter().find(|r| r.layer == layer) {
                (rule.forbidden, rule.why)
            } else if LEAVES.contains(&layer.as_str()) {
                (LAYERS, "a leaf (one of LEAVES) uses no layer")
            } else {
                continue;
            };
        for path in named_paths(&code, forbidden) {
            wrong.push(format!("{} names `{path}`: {why}", file.display()));
        }
    }
    wrong.sort();
    wrong.dedup();
    wrong
}

#[test]
fn every_layer_imports_only_what_the_architecture_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let wrong = violations(&src);
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_forbidden_import() {
    // The scanner itself must find what it is looking for, or the test above
    // would pass on anything.
    let code = "use crate::store::Db;\nuse axum::{Json, extract::State};\n// crate::http in a comment\nlet x = crate::mail::Email::default();";
    let roots = [
        "crate::store",
        "axum",
        "crate::http",
        "crate::mail",
        "crate::accounts",
    ];
    assert_eq!(
        named_paths(code, &roots),
        vec!["crate::store", "axum", "crate::mail"]
    );
    assert!(named_paths("use crate::storefront::X;", &["crate::store"]).is_empty());
}
