//! argon2id into and against PHC strings, on memory the hashing thread keeps.
//!
//! `Argon2::hash_password` allocates `m_cost` KiB for every hash and frees it after;
//! with many threads the allocator keeps those buffers in per-thread arenas and the
//! process grows far past what the hashes running at once need. Each hashing thread
//! owns one [`HashMemory`] and lends it to every hash it runs
//! (`hash_password_into_with_memory`), so memory stays at threads × `m_cost`.

use anyhow::anyhow;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The working memory of one hashing thread, grown to the largest cost it has seen
/// (the configured one, or a stored hash's if that is larger).
#[derive(Default)]
pub struct HashMemory {
    blocks: Vec<Block>,
}

/// The least a buffer reserves: 33 MiB, above glibc's largest mmap threshold
/// (32 MiB on 64-bit). glibc serves such a request with a mapping of its own and
/// unmaps it when freed. A smaller buffer, once one was freed, comes from a heap
/// that glibc does not trim (its threshold moves up to the freed size), so the
/// process stayed at its peak after the load. Only the blocks in use are ever
/// written, so only they are resident; the rest is address space.
const RESERVED_BLOCKS: usize = 33 * 1024;

impl HashMemory {
    fn blocks_for(&mut self, params: &Params) -> &mut [Block] {
        let count = params.block_count();
        if self.blocks.len() < count {
            let wanted = count.max(RESERVED_BLOCKS);
            self.blocks
                .reserve_exact(wanted.saturating_sub(self.blocks.len()));
            self.blocks.resize(count, Block::new());
        }
        &mut self.blocks[..count]
    }

    /// The bytes of working memory in use (written, so resident).
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.blocks.len() * std::mem::size_of::<Block>()
    }

    /// Gives back memory beyond what `params` needs: an imported hash may have
    /// grown the buffer far past the configured cost for its one check.
    pub fn keep_at_most(&mut self, params: &Params) {
        let count = params.block_count();
        if self.blocks.len() > count {
            self.blocks.truncate(count);
            self.blocks.shrink_to_fit();
        }
    }
}

/// Hashes `password` with a fresh random salt into a PHC string
/// (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), as `Argon2::hash_password` would.
pub fn hash(params: &Params, password: &[u8], memory: &mut HashMemory) -> anyhow::Result<String> {
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    getrandom::fill(&mut salt).map_err(|e| anyhow!("no randomness for a salt: {e}"))?;
    let salt = Salt::new(&salt).map_err(|e| anyhow!("salt: {e}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let length = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = compute(&argon2, password, &salt, length, memory)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow!("argon2 params: {e}"))?,
        salt: Some(salt),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` is the one behind `stored`, recomputed with the stored
/// algorithm, version and parameters (as `PasswordVerifier` does). A hash that
/// cannot be recomputed matches nothing.
pub fn matches(stored: &PasswordHash, password: &[u8], memory: &mut HashMemory) -> bool {
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let argon2 = (|| {
        let algorithm = Algorithm::try_from(stored.algorithm.as_str()).ok()?;
        let version = match stored.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(stored).ok()?;
        Some(Argon2::new(algorithm, version, params))
    })();
    let Some(argon2) = argon2 else {
        return false;
    };
    // `Output`'s equality is constant-time.
    compute(&argon2, password, salt, expected.len(), memory).is_ok_and(|out| out == *expected)
}

fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    length: usize,
    memory: &mut HashMemory,
) -> anyhow::Result<Output> {
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..length)
        .ok_or_else(|| anyhow!("argon2 output of {length} bytes is too long"))?;
    let blocks = memory.blocks_for(argon2.params());
    argon2
        .hash_password_into_with_memory(password, salt, out, blocks)
        .map_err(|e| anyhow!("argon2 hash failed: {e}"))?;
    Output::new(out).map_err(|e| anyhow!("argon2 output: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher, PasswordVerifier};

    fn params() -> Params {
        Params::new(19_456, 2, 1, None).expect("params")
    }

    #[test]
    fn agrees_with_the_argon2_crate_both_ways() {
        let mut memory = HashMemory::default();
        let ours = hash(&params(), b"correct horse", &mut memory).expect("hash");
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let parsed = PasswordHash::new(&ours).expect("PHC");
        assert!(argon2.verify_password(b"correct horse", &parsed).is_ok());

        let theirs = argon2.hash_password(b"correct horse").expect("hash");
        assert!(matches(&theirs, b"correct horse", &mut memory));
        assert!(!matches(&theirs, b"wrong horse", &mut memory));
    }
}
