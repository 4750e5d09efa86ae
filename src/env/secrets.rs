//! Generated secrets: 40 characters from the OS CSPRNG, letters and digits only, so they are
//! safe unquoted in URLs, YAML, shells and `.env` files.

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of a generated secret.
pub const LENGTH: usize = 40;

/// A new random secret.
pub fn generate() -> String {
    let mut out = String::with_capacity(LENGTH);
    while out.len() < LENGTH {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes).expect("the OS random number generator is available");
        // Rejection sampling keeps every character equally likely (248 = 4 * 62).
        for b in bytes {
            if b < 248 && out.len() < LENGTH {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_safe() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), LENGTH);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
