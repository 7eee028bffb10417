//! The connector runtime: built-in plugins are embedded, extra `*.wasm` in `plugins_dir`
//! are loaded, and broken ones are reported and skipped, never fatal.

mod console;

use crate::support::Env;

/// The built-in OIDC component as build.rs built it (for the duplicate-id case).
const OIDC_WASM: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/plugins/target/wasm32-wasip2/release/latchkey_connector_oidc.wasm"
);

fn list(env: &Env) -> Vec<serde_json::Value> {
    let out = env.cli(&["connector", "list", "--json"]);
    out.assert_ok("connector list");
    serde_json::from_str(&out.stdout).expect("connector list --json prints JSON")
}

#[tokio::test]
async fn built_in_connectors_are_listed_and_broken_files_reported() {
    let env = Env::new();
    let dir = env.path().join("plugins.d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("garbage.wasm"), b"this is not wasm at all").unwrap();
    std::fs::write(dir.join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    // A valid, empty component: right format, wrong world.
    std::fs::write(dir.join("empty-component.wasm"), b"\0asm\x0d\0\x01\0").unwrap();
    std::fs::write(dir.join("notes.txt"), b"ignored: not *.wasm").unwrap();
    if std::path::Path::new(OIDC_WASM).is_file() {
        std::fs::copy(OIDC_WASM, dir.join("oidc-again.wasm")).unwrap();
    }

    let rows = list(&env);
    let ok: Vec<&serde_json::Value> = rows.iter().filter(|r| r["status"] == "ok").collect();
    let oidc = ok
        .iter()
        .find(|r| r["id"] == "oidc")
        .expect("the built-in oidc connector");
    assert_eq!(oidc["api_version"], "0.1.0");
    assert_eq!(oidc["source"], "built-in oidc");
    let sha = oidc["sha256"].as_str().unwrap();
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );
    assert!(!oidc["version"].as_str().unwrap().is_empty());

    let broken = |file: &str| -> String {
        rows.iter()
            .find(|r| r["status"] == "broken" && r["source"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("{file} not reported: {rows:#?}"))["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(broken("garbage.wasm").contains("not a WebAssembly file"));
    assert!(broken("core.wasm").contains("core WebAssembly module"));
    assert!(
        broken("empty-component.wasm").contains("latchkey:connector"),
        "{}",
        broken("empty-component.wasm")
    );
    if std::path::Path::new(OIDC_WASM).is_file() {
        assert!(broken("oidc-again.wasm").contains("already has the id"));
    }
    assert!(
        !rows
            .iter()
            .any(|r| r["source"].as_str().unwrap_or("").ends_with("notes.txt"))
    );

    // Plain output names the broken files too.
    let out = env.cli(&["connector", "list"]);
    let text = &out.stdout;
    assert!(text.contains("oidc") && text.contains("BROKEN"), "{text}");

    // A broken plugin never stops the portal: it serves, and says what it skipped.
    let srv = env.serve();
    let health = srv.browser().get("/healthz").await;
    assert_eq!(
        (health.status, health.text().trim().to_string()),
        (200, "ok".to_string())
    );
    let log = srv.log();
    assert!(
        log.contains("plugin skipped") && log.contains("garbage.wasm"),
        "{log}"
    );
}

#[test]
fn compiled_plugins_are_cached_by_content_hash() {
    let env = Env::new();
    list(&env);
    let cache = env.path().join("cache/plugins");
    let files: Vec<String> = std::fs::read_dir(&cache)
        .expect("a plugin cache dir")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with(".cwasm") && f.contains("-wasmtime-48.0.8")),
        "{files:?}"
    );
    // A damaged cache entry is not trusted blindly: it is recompiled (or refused by
    // wasmtime's header check) and the listing still works.
    for f in &files {
        std::fs::write(cache.join(f), b"damaged").unwrap();
    }
    let rows = list(&env);
    assert!(
        rows.iter()
            .any(|r| r["id"] == "oidc" && r["status"] == "ok"),
        "{rows:#?}"
    );
}
