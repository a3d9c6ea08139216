//! Span and trace ids, derived from the session id and what a span stands for: the same
//! session always maps to the same ids, and parents are known without lookups.

/// The trace id of a session: a UUID's 16 bytes, else a stable hash of the id.
pub fn trace_id(session_id: &str) -> [u8; 16] {
    let hex: String = session_id.chars().filter(|c| *c != '-').collect();
    if hex.len() == 32 {
        let mut bytes = [0u8; 16];
        let parsed = (0..16).all(|i| match u8::from_str_radix(&hex[2 * i..2 * i + 2], 16) {
            Ok(byte) => {
                bytes[i] = byte;
                true
            }
            Err(_) => false,
        });
        if parsed && bytes != [0; 16] {
            return bytes;
        }
    }
    let high = hash(session_id, 0x51);
    let low = hash(session_id, 0xa7);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&high.to_be_bytes());
    bytes[8..].copy_from_slice(&low.to_be_bytes());
    bytes
}

/// A span id, stable for (session, what, number), never zero.
pub(super) fn span_id(session_id: &str, what: &str, number: u64) -> [u8; 8] {
    let id = hash(&format!("{session_id}/{what}/{number}"), 0x3c).max(1);
    id.to_be_bytes()
}

/// FNV-1a with a seed byte, then the SplitMix64 finalizer.
fn hash(text: &str, seed: u8) -> u64 {
    let fnv = std::iter::once(seed)
        .chain(text.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    let mut z = fnv;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
