//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), run on
//! a few dedicated threads (one per core), so logons never starve the page workers.

use std::sync::{Arc, OnceLock};

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::Error;

fn params() -> Params {
    // m = 19456 KiB, t = 2, p = 1: the first OWASP Password Storage Cheat Sheet option.
    Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters")
}

/// Stored hashes asking for more memory than this never verify (a damaged row must not
/// make the server allocate gigabytes).
const MAX_BLOCKS: usize = 256 * 1024;

thread_local! {
    /// argon2's working memory, kept per thread and reused: allocating 19 MiB per hash
    /// makes the C allocator hold hundreds of megabytes across threads.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 with this thread's reusable working memory.
fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    BLOCKS.with(|b| {
        let mut blocks = b.borrow_mut();
        if blocks.len() < count {
            blocks.resize(count, Block::default());
        }
        f(&mut blocks[..count])
    })
}

/// Hashes synchronously to a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub fn hash_blocking(password: &str) -> Result<String, Error> {
    let fail = |e: &dyn std::fmt::Display| Error::Internal(format!("password hashing failed: {e}"));
    let params = params();
    let mut salt = [0u8; 16];
    crate::tokens::fill_random(&mut salt);
    let mut out = [0u8; 32];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_blocks(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, blocks)
    })
    .map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| fail(&e))?),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// Verifies synchronously, with the parameters the stored hash names. A malformed
/// stored hash never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&phc),
        Algorithm::try_from(phc.algorithm.as_str()),
    ) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    if params.block_count() > MAX_BLOCKS {
        return false;
    }
    let expected = expected.as_bytes();
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    let ok = with_blocks(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, blocks)
    });
    ok.is_ok() && bool::from(subtle::ConstantTimeEq::ct_eq(out.as_slice(), expected))
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
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
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
        // Interoperable with the argon2 crate's own PHC verifier and hasher.
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery staple", &parsed)
                .is_ok()
        );
        let theirs = Argon2::default()
            .hash_password(b"tr0ub4dor")
            .unwrap()
            .to_string();
        assert!(verify_blocking("tr0ub4dor", &theirs));
        assert!(!verify_blocking("tr0ub4dor!", &theirs));
        let h = hash_blocking("龙马精神万事如意🐉").unwrap();
        assert!(verify_blocking("龙马精神万事如意🐉", &h));
        assert!(!verify_blocking("龙马精神万事如意", &h));
    }
}
