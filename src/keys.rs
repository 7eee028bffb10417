//! The installation's secret key (`data_dir/secret.key`, mode 0600, made on first start):
//! encrypts OTP secrets at rest and keys the MACs of one-time codes. Sub-keys are derived
//! with HKDF so each use has its own key.

use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::Error;

const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 24;

pub struct Keys {
    encryption: [u8; 32],
    mac: [u8; 32],
}

impl Keys {
    /// Reads the key file, creating it (0600) when missing.
    pub fn load_or_create(data_dir: &Path) -> Result<Keys, Error> {
        let path = data_dir.join(KEY_FILE);
        let master = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            Ok(_) => {
                return Err(Error::Internal(format!(
                    "{} is damaged (it must hold 32 bytes); restore it from a backup",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path)?,
            Err(e) => {
                return Err(Error::Internal(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        Ok(Keys::from_master(&master))
    }

    pub fn from_master(master: &[u8]) -> Keys {
        let hk = Hkdf::<Sha256>::new(Some(b"latchkey"), master);
        let mut encryption = [0u8; 32];
        let mut mac = [0u8; 32];
        hk.expand(b"encryption v1", &mut encryption)
            .expect("32 bytes is a valid HKDF length");
        hk.expand(b"code mac v1", &mut mac)
            .expect("32 bytes is a valid HKDF length");
        Keys { encryption, mac }
    }

    /// Encrypts with XChaCha20-Poly1305; the random nonce is prepended.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(&self.encryption.into());
        let mut nonce = [0u8; NONCE_LEN];
        crate::tokens::fill_random(&mut nonce);
        let ct = cipher
            .encrypt(&XNonce::from(nonce), plaintext)
            .expect("encryption of a short secret cannot fail");
        let mut out = nonce.to_vec();
        out.extend(ct);
        out
    }

    /// Decrypts what `encrypt` made; `None` if it was tampered with or another key made it.
    pub fn decrypt(&self, blob: &[u8]) -> Option<Vec<u8>> {
        if blob.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        XChaCha20Poly1305::new(&self.encryption.into())
            .decrypt(&XNonce::from(nonce), ct)
            .ok()
    }

    /// HMAC-SHA256 of the parts (length-prefixed, so parts cannot run together), hex.
    pub fn mac(&self, parts: &[&str]) -> String {
        let mut m = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.mac)
            .expect("any key length works");
        for p in parts {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p.as_bytes());
        }
        hex::encode(m.finalize().into_bytes())
    }
}

#[cfg(unix)]
fn create(path: &Path) -> Result<Vec<u8>, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut key = vec![0u8; 32];
    crate::tokens::fill_random(&mut key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    // create_new: if another process won the race, read its key instead.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            f.write_all(&key)
                .and_then(|_| f.sync_all())
                .map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path)
            .map_err(|e| Error::Internal(format!("cannot read {}: {e}", path.display()))),
        Err(e) => Err(Error::Internal(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(not(unix))]
fn create(path: &Path) -> Result<Vec<u8>, Error> {
    let mut key = vec![0u8; 32];
    crate::tokens::fill_random(&mut key);
    std::fs::write(path, &key)
        .map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let k = Keys::from_master(&[7u8; 32]);
        let blob = k.encrypt(b"JBSWY3DPEHPK3PXP");
        assert_eq!(k.decrypt(&blob).as_deref(), Some(&b"JBSWY3DPEHPK3PXP"[..]));
        let mut bad = blob.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(k.decrypt(&bad), None);
        assert_eq!(Keys::from_master(&[8u8; 32]).decrypt(&blob), None);
        assert_ne!(k.mac(&["a", "bc"]), k.mac(&["ab", "c"]));
    }

    #[test]
    fn key_file_is_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("lk-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let a = Keys::load_or_create(&dir).unwrap();
        let b = Keys::load_or_create(&dir).unwrap();
        assert_eq!(a.mac(&["x"]), b.mac(&["x"]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
