//! Plugin call overhead: loading the built-in connectors (cold: compile; warm: from the
//! artifact cache) and one call in a fresh instance (instantiate + `validate-settings`).
//!
//!   cargo bench --bench plugin_calls
//!
//! A measurement, not a test: it prints figures for the README.

use std::time::Instant;

use latchkey::plugins::Plugins;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!("latchkey-bench-{}", std::process::id()));
        let cache = dir.join("cache");
        let empty = dir.join("plugins.d");

        let t = Instant::now();
        let plugins = Plugins::load(&empty, &cache).await.expect("load");
        let cold = t.elapsed();
        drop(plugins);
        let t = Instant::now();
        let plugins = Plugins::load(&empty, &cache).await.expect("load");
        let warm = t.elapsed();
        let ids: Vec<String> = plugins.list().iter().map(|p| p.id.clone()).collect();
        println!("built-in plugins: {}", ids.join(", "));
        println!(
            "load, cold (compile):        {:>8.1} ms",
            cold.as_secs_f64() * 1e3
        );
        println!(
            "load, warm (artifact cache): {:>8.1} ms",
            warm.as_secs_f64() * 1e3
        );

        let settings = vec![
            ("issuer".to_string(), "https://idp.example.com".to_string()),
            ("client_id".to_string(), "latchkey".to_string()),
            ("client_secret".to_string(), "secret".to_string()),
        ];
        for _ in 0..200 {
            let _ = plugins
                .validate_settings("oidc", "bench", settings.clone())
                .await;
        }
        let n = 5000;
        let t = Instant::now();
        for _ in 0..n {
            let r = plugins
                .validate_settings("oidc", "bench", settings.clone())
                .await;
            assert!(matches!(r, Ok(Ok(()))), "{r:?}");
        }
        let per = t.elapsed().as_secs_f64() / n as f64;
        println!("fresh instance + call:       {:>8.1} µs", per * 1e6);
        let _ = std::fs::remove_dir_all(&dir);
    });
}
