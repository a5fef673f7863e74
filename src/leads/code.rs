//! Pronounceable lead codes: what the visitor reads off the voucher or raffle ticket and what
//! staff say out loud at the raffle ("BAKO-RIMU-TEZA"). Also the unique marker by which the
//! controller recognises a lead it already created in Odoo.
//!
//! Three groups of two consonant-vowel syllables: 15 consonants × 5 vowels = 75 syllables,
//! 75⁶ ≈ 1.8·10¹¹ codes (≈ 37 bits), so two leads sharing a code is negligible at booth scale.
//! Letters that are confused when read aloud or printed small (C/K, Q, X, Y, W, J/I, 0/O with
//! digits) are left out.
//!
//! May call: nothing else of the crate.

use rand::Rng;

const CONSONANTS: &[u8] = b"BDFGHKLMNPRSTVZ";
const VOWELS: &[u8] = b"AEIOU";
const GROUPS: usize = 3;
const SYLLABLES_PER_GROUP: usize = 2;

/// A new random code, e.g. `BAKO-RIMU-TEZA`.
pub fn generate() -> String {
    generate_with(&mut rand::rng())
}

/// A code from the given random source (tests use a seeded one).
pub(crate) fn generate_with(rng: &mut impl Rng) -> String {
    let groups: Vec<String> = (0..GROUPS)
        .map(|_| {
            (0..SYLLABLES_PER_GROUP)
                .flat_map(|_| {
                    let consonant = CONSONANTS[rng.random_range(0..CONSONANTS.len())];
                    let vowel = VOWELS[rng.random_range(0..VOWELS.len())];
                    [consonant as char, vowel as char]
                })
                .collect()
        })
        .collect();
    groups.join("-")
}

#[cfg(any(test, feature = "test-support"))]
/// Whether `code` has the shape [`generate`] produces.
pub fn is_valid(code: &str) -> bool {
    let groups: Vec<&str> = code.split('-').collect();
    groups.len() == GROUPS
        && groups.iter().all(|group| {
            group.len() == SYLLABLES_PER_GROUP * 2
                && group.as_bytes().chunks(2).all(|pair| CONSONANTS.contains(&pair[0]) && VOWELS.contains(&pair[1]))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn codes_alternate_consonants_and_vowels_in_three_groups() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let code = generate_with(&mut rng);
            assert!(is_valid(&code), "{code}");
            assert_eq!(code.len(), 14);
        }
        assert!(!is_valid("BAKO-RIMU"));
        assert!(!is_valid("BAKO-RIMU-TEZX"));
        assert!(!is_valid("bako-rimu-teza"));
    }

    #[test]
    fn codes_do_not_repeat_in_practice() {
        let codes: std::collections::HashSet<String> = (0..10_000).map(|_| generate()).collect();
        assert_eq!(codes.len(), 10_000);
    }
}
