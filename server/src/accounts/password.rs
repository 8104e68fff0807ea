//! Password hashing: argon2id, on low-priority threads of its own ([`super::hash_pool`]).
//!
//! A stolen database must not give away passwords, so only a slow, salted, memory-hard hash
//! is stored (a PHC string: algorithm, parameters, salt and hash in one text). Slow means
//! tens of milliseconds of CPU per hash, which would stall every socket of a worker if it
//! ran on the async runtime: each hash and verification runs on the hashing threads, at
//! most [`MAX_CONCURRENT`] at once, at the lowest CPU priority.
//! Signing in with a name that has no account costs the same as a wrong password
//! ([`verify_unknown`]), so the time of a failed sign-in does not tell which names exist.

use argon2::password_hash::{self, Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::Password;

/// Memory per hash, in KiB: 19 MiB, the OWASP Password Storage Cheat Sheet's minimum for
/// argon2id (with [`ITERATIONS`] = 2 and [`PARALLELISM`] = 1), and argon2's own default.
/// Raising it costs every sign-in that much memory for the hash's duration; hashes made
/// with older parameters still verify (the PHC string carries its own).
pub const MEMORY_KIB: u32 = 19_456;

/// Passes over the memory (argon2's `t`).
pub const ITERATIONS: u32 = 2;

/// Lanes (argon2's `p`): one, as each hash runs on one blocking thread.
pub const PARALLELISM: u32 = 1;

/// Bytes of random salt per hash (the PHC recommendation: 128 bits).
pub const SALT_BYTES: usize = 16;

/// Hashes and verifications that run at once per process (the hashing threads); more wait
/// their turn. Each holds [`MEMORY_KIB`] for its duration, so a flood of sign-ins costs at
/// most this many times 19 MiB and this many cores.
pub const MAX_CONCURRENT: usize = super::hash_pool::THREADS;

/// A PHC string with the parameters above, a 16-byte salt and a 32-byte output made of
/// random bytes (no password is known to hash to them): what [`verify_unknown`] verifies
/// against, so a sign-in with an unknown name does the same work as one with a wrong
/// password. A test checks that its shape matches a real hash's.
const UNKNOWN_ACCOUNT_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$\
     dW5rbm93bi1hY2NvdW50IQ$ncxZLoGe4GZaDnmRn4qGjHpbnGuKlR6e1F8B4gGaB2U";

/// Why a password could not be hashed or checked. None of these says whether a password
/// was right; the text holds no password.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The operating system gave no random bytes for a salt.
    #[error("no randomness for a salt: {0}")]
    Random(#[source] getrandom::Error),
    /// argon2 refused its input (a stored hash that is not a valid PHC string, or one with
    /// parameters out of range).
    #[error("password hash error: {0}")]
    Hash(#[source] password_hash::Error),
    /// The OS gave no memory for the hash.
    #[error("no memory for a password hash: {0}")]
    Memory(#[source] std::io::Error),
    /// The hashing threads are gone (the hash panicked, or the process is stopping).
    #[error("password hashing failed: {0}")]
    Pool(#[from] super::hash_pool::PoolGone),
}

/// The hasher with this module's parameters.
fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the constant parameters are within argon2's ranges (a test checks)");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a fresh random salt and returns the PHC string to store.
pub async fn hash(password: &Password) -> Result<String, PasswordError> {
    let password = password.clone();
    blocking(move || hash_now(&password)).await
}

/// Whether `password` is the one `stored` (a PHC string from [`hash`]) was made from. The
/// comparison is constant-time; the parameters are read from `stored`, so hashes made
/// before a parameter change still verify. A stored hash that does not parse is an error,
/// not a `false`: it means the database holds something this code did not write.
pub async fn verify(password: &Password, stored: &str) -> Result<bool, PasswordError> {
    let (password, stored) = (password.clone(), stored.to_owned());
    blocking(move || verify_now(&password, &stored)).await
}

/// Spends the time of a [`verify`] and returns `false`: for a sign-in whose name has no
/// account, so that it is not answered faster than a wrong password.
pub async fn verify_unknown(password: &Password) -> Result<bool, PasswordError> {
    let password = password.clone();
    blocking(move || {
        verify_now(&password, UNKNOWN_ACCOUNT_HASH)?;
        Ok(false)
    })
    .await
}

/// Bytes of hash output (argon2's default, and what every stored hash has).
const OUTPUT_BYTES: usize = 32;

/// [`hash`], on the calling thread.
fn hash_now(password: &Password) -> Result<String, PasswordError> {
    let mut salt = [0u8; SALT_BYTES];
    getrandom::fill(&mut salt).map_err(PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(PasswordError::Hash)?;
    let argon2 = argon2();
    let mut output = [0u8; OUTPUT_BYTES];
    compute(&argon2, password, salt.as_salt(), &mut output)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: argon2.params().try_into().map_err(PasswordError::Hash)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(PasswordError::Hash)?),
    };
    Ok(hash.to_string())
}

/// [`verify`], on the calling thread: the hash of `password` with the algorithm, version,
/// parameters and salt `stored` names, compared in constant time with its output.
fn verify_now(password: &Password, stored: &str) -> Result<bool, PasswordError> {
    let stored = PasswordHash::new(stored).map_err(PasswordError::Hash)?;
    let algorithm = Algorithm::try_from(stored.algorithm).map_err(PasswordError::Hash)?;
    let version = match stored.version {
        Some(version) => Version::try_from(version).map_err(|e| PasswordError::Hash(e.into()))?,
        None => Version::default(),
    };
    let params = Params::try_from(&stored).map_err(PasswordError::Hash)?;
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return Err(PasswordError::Hash(password_hash::Error::PhcStringField));
    };
    let mut output = vec![0u8; expected.len()];
    compute(
        &Argon2::new(algorithm, version, params),
        password,
        salt,
        &mut output,
    )?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&output).map_err(PasswordError::Hash)? == expected)
}

/// The raw hash of `password` with `salt` into `output`, in memory mapped for this hash
/// alone ([`super::scratch`]).
fn compute(
    argon2: &Argon2<'_>,
    password: &Password,
    salt: password_hash::Salt<'_>,
    output: &mut [u8],
) -> Result<(), PasswordError> {
    let mut salt_bytes = [0u8; password_hash::Salt::MAX_LENGTH];
    let salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(PasswordError::Hash)?;
    let mut memory = super::scratch::Scratch::new(argon2.params().block_count())
        .map_err(PasswordError::Memory)?;
    argon2
        .hash_password_into_with_memory(password.expose().as_bytes(), salt, output, memory.blocks())
        .map_err(|e| PasswordError::Hash(e.into()))
}

/// Runs `work` on a hashing thread ([`super::hash_pool`]): at most [`MAX_CONCURRENT`] at
/// once, at the lowest CPU priority. The work runs to its end even if the caller stops
/// waiting.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
) -> Result<T, PasswordError> {
    super::hash_pool::run(work).await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(text: &str) -> Password {
        Password::parse(text.to_owned()).unwrap()
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash(&password("correct horse battery")).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        let salt = SaltString::encode_b64(&[7u8; SALT_BYTES]).unwrap();
        let theirs = argon2()
            .hash_password(b"another password", &salt)
            .unwrap()
            .to_string();
        assert!(
            verify(&password("another password"), &theirs)
                .await
                .unwrap()
        );
        assert!(
            !verify(&password("another passworD"), &theirs)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let stored = hash(&password("correct horse battery")).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(!stored.contains("correct horse"));
        assert!(
            verify(&password("correct horse battery"), &stored)
                .await
                .unwrap()
        );
        assert!(
            !verify(&password("correct horse battery!"), &stored)
                .await
                .unwrap()
        );
        assert!(
            !verify(&password("Correct horse battery"), &stored)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn each_hash_has_a_salt_of_its_own() {
        let same = password("the same password");
        let (a, b) = (hash(&same).await.unwrap(), hash(&same).await.unwrap());
        assert_ne!(a, b);
        let salt = |phc: &str| PasswordHash::new(phc).unwrap().salt.unwrap().to_string();
        assert_ne!(salt(&a), salt(&b));
        assert!(verify(&same, &a).await.unwrap() && verify(&same, &b).await.unwrap());
    }

    #[tokio::test]
    async fn verifying_an_unknown_account_is_false_and_does_the_same_work() {
        assert!(
            !verify_unknown(&password("any password at all"))
                .await
                .unwrap()
        );
        // Same algorithm and parameters as a real hash, hence the same work.
        let unknown = PasswordHash::new(UNKNOWN_ACCOUNT_HASH).unwrap();
        let real_hash = hash(&password("some password")).await.unwrap();
        let real = PasswordHash::new(&real_hash).unwrap();
        assert_eq!(unknown.algorithm, real.algorithm);
        assert_eq!(unknown.version, real.version);
        assert_eq!(unknown.params, real.params);
        assert_eq!(unknown.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
        let salt_len = |phc: &PasswordHash<'_>| phc.salt.map(|s| s.len());
        assert_eq!(salt_len(&unknown), salt_len(&real));
    }

    #[tokio::test]
    async fn more_verifications_than_turns_all_finish() {
        let waiting: Vec<_> = (0..=MAX_CONCURRENT)
            .map(|_| tokio::spawn(async { verify_unknown(&password("some password")).await }))
            .collect();
        for task in waiting {
            assert!(!task.await.unwrap().unwrap());
        }
    }

    #[tokio::test]
    async fn a_stored_hash_that_is_not_phc_is_an_error_not_a_match() {
        let result = verify(&password("some password"), "plain text").await;
        assert!(matches!(result, Err(PasswordError::Hash(_))), "{result:?}");
    }

    #[test]
    fn the_parameters_are_the_owasp_minimum_for_argon2id() {
        let params = argon2().params().clone();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19_456, 2, 1)
        );
    }

    /// One hash's wall time, to compare with a sign-in's budget. Measure in a release
    /// build: `cargo test --release -p chat-server --lib one_hash_takes -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn one_hash_takes() {
        let password = password("a password to time");
        hash_now(&password).unwrap(); // warm up the allocator
        let runs: u32 = 10;
        let started = std::time::Instant::now();
        for _ in 0..runs {
            hash_now(&password).unwrap();
        }
        println!("one argon2id hash: {:?}", started.elapsed() / runs);
    }
}
