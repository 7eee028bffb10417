//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), run on
//! a few dedicated threads (one per core), so logons never starve the page workers.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::Error;

fn argon2() -> Argon2<'static> {
    // m = 19456 KiB, t = 2, p = 1: the first OWASP Password Storage Cheat Sheet option.
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes synchronously (callers on the async runtime use [`Hasher`]).
pub fn hash_blocking(password: &str) -> Result<String, Error> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Verifies synchronously. A malformed stored hash never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password, verified against when an account does not exist so
/// that unknown accounts and wrong passwords take the same time.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 32];
        crate::tokens::fill_random(&mut pw);
        hash_blocking(&hex::encode(pw)).unwrap_or_default()
    })
}

type Job = Box<dyn FnOnce() + Send>;

/// A small pool of dedicated hashing threads, one per core. Dedicated (rather than
/// tokio's blocking pool) so that only a few threads ever hold argon2's 19 MiB working
/// memory: the allocator keeps per-thread arenas, and a growing blocking pool would
/// keep hundreds of megabytes.
#[derive(Clone)]
pub struct Hasher {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Hasher {
    pub fn new() -> Hasher {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..cores {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("latchkey-hash-{i}"))
                .spawn(move || {
                    loop {
                        // Hold the lock only to take a job, not while hashing.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job must not take the thread with it.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return, // every Hasher is gone
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Hasher { jobs: tx }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|_| Error::Internal("the password hashing threads are gone".into()))?;
        result
            .await
            .map_err(|_| Error::Internal("a password hashing job failed".into()))
    }

    pub async fn hash(&self, password: &str) -> Result<String, Error> {
        let pw = password.to_string();
        self.run(move || hash_blocking(&pw)).await?
    }

    /// Verifies against `hash`, or against a dummy hash when there is none, so the
    /// caller's timing never reveals whether the account exists.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> Result<bool, Error> {
        let pw = password.to_string();
        self.run(move || match hash {
            Some(h) => verify_blocking(&pw, &h),
            None => {
                verify_blocking(&pw, dummy_hash());
                false
            }
        })
        .await
    }

    /// Does `password` match any of `hashes`? (password history)
    pub async fn matches_any(&self, password: &str, hashes: Vec<String>) -> Result<bool, Error> {
        let pw = password.to_string();
        self.run(move || hashes.iter().any(|h| verify_blocking(&pw, h)))
            .await
    }

    /// Computes the dummy hash ahead of the first logon.
    pub async fn warm_up(&self) {
        let _ = self.run(|| dummy_hash().len()).await;
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_blocking("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking("correct horse battery staple", &h));
        assert!(!verify_blocking("correct horse battery stapl", &h));
        assert!(!verify_blocking("x", "not a hash"));
        // Unicode passwords are hashed whole.
        let h = hash_blocking("龙马精神万事如意🐉").unwrap();
        assert!(verify_blocking("龙马精神万事如意🐉", &h));
        assert!(!verify_blocking("龙马精神万事如意", &h));
    }
}
