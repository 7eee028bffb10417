//! Builds the built-in connector plugins (`plugins/`, its own cargo workspace) for
//! wasm32-wasip2 and embeds them. Without the wasm target the host still builds, with
//! no built-in connectors, and says so: `rustup toolchain install` adds the target
//! named in rust-toolchain.toml.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// (plugin file name, package, artifact name)
const BUILTINS: &[(&str, &str, &str)] = &[
    ("oidc", "latchkey-connector-oidc", "latchkey_connector_oidc"),
    (
        "dingtalk",
        "latchkey-connector-dingtalk",
        "latchkey_connector_dingtalk",
    ),
    (
        "wecom",
        "latchkey-connector-wecom",
        "latchkey_connector_wecom",
    ),
];

fn main() {
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let plugins = root.join("plugins");
    for watched in [
        "wit",
        "sdk",
        "oidc",
        "dingtalk",
        "wecom",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed=plugins/{watched}");
    }
    println!("cargo:rerun-if-env-changed=LATCHKEY_SKIP_BUILTIN_PLUGINS");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target_dir = plugins.join("target");
    let mut entries = Vec::new();
    if env::var_os("LATCHKEY_SKIP_BUILTIN_PLUGINS").is_none() {
        let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&plugins)
            .args([
                "build",
                "--release",
                "--locked",
                "--target",
                "wasm32-wasip2",
                "--target-dir",
            ])
            .arg(&target_dir);
        for (_, package, _) in BUILTINS {
            cmd.args(["-p", package]);
        }
        // The outer build's flags and target dir are not the plugins'.
        for var in [
            "CARGO_TARGET_DIR",
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_BUILD_TARGET",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_PROFILE_RELEASE_CODEGEN_UNITS",
        ] {
            cmd.env_remove(var);
        }
        match cmd.status() {
            Ok(s) if s.success() => {
                for (name, _, artifact) in BUILTINS {
                    let path = target_dir
                        .join("wasm32-wasip2/release")
                        .join(format!("{artifact}.wasm"));
                    entries.push(format!(
                        "({name:?}, include_bytes!({:?}) as &[u8])",
                        path.display().to_string()
                    ));
                }
            }
            other => println!(
                "cargo:warning=built-in connector plugins were not built ({other:?}); run `rustup toolchain install` to add the wasm32-wasip2 target"
            ),
        }
    }
    let code = format!("&[{}]", entries.join(", "));
    std::fs::write(out.join("builtin_plugins.rs"), code).expect("write builtin_plugins.rs");
}
