//! Invariants every classifier's Findings must respect, whatever the input.

use airlock_classify::Findings;
use airlock_model::Effect;

/// `parts` is never empty; the whole is `unknown` if any part is, otherwise the most
/// severe part; `effects()` is the sorted set of the parts' effects; `bulk()` is true
/// exactly when a part is bulk.
pub fn check(f: &Findings) {
    assert!(!f.parts.is_empty(), "no parts: {f:?}");
    let any_unknown = f.parts.iter().any(|p| p.effect == Effect::Unknown);
    let max = f.parts.iter().map(|p| p.effect).max();
    let whole = f.effect();
    if any_unknown {
        assert_eq!(whole, Effect::Unknown, "{f:?}");
    } else {
        assert_eq!(Some(whole), max, "{f:?}");
    }
    let effects = f.effects();
    assert!(effects.windows(2).all(|w| w[0] < w[1]), "{effects:?}");
    for p in &f.parts {
        assert!(
            effects.contains(&p.effect),
            "{effects:?} lacks {:?}",
            p.effect
        );
    }
    assert_eq!(f.bulk(), f.parts.iter().any(|p| p.bulk));
}
