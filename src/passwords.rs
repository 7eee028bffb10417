//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), run on
//! blocking threads and bounded by a semaphore, so logons never starve the page workers.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

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

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Hasher {
    /// At most one hash per core at a time; more would only queue inside the kernel.
    pub fn new() -> Hasher {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Hasher {
            permits: Arc::new(Semaphore::new(cores)),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("hasher closed".into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))
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
