//! Password hashing with argon2id (OWASP's recommended parameters, the crate's defaults).
//! Hashing is CPU-heavy by design, so it runs on the blocking pool, off the async workers.
//! And the strength check of a new password, with the zxcvbn estimator.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::error::AppError;

/// Hashes a password into a PHC string (`$argon2id$v=19$…`).
pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let mut salt_bytes = [0u8; 16];
        getrandom::fill(&mut salt_bytes).map_err(|e| AppError::internal(e.to_string()))?;
        let salt =
            SaltString::encode_b64(&salt_bytes).map_err(|e| AppError::internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(e.to_string()))
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?
}

/// Checks a password against a stored hash. With no stored hash (unknown user) a dummy hash
/// is checked anyway, so the answer takes the same time and reveals nothing.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let dummy = DUMMY_HASH;
        let phc = stored.as_deref().unwrap_or(dummy);
        let parsed = PasswordHash::new(phc).map_err(|e| AppError::internal(e.to_string()))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && stored.is_some())
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?
}

/// A valid argon2id hash of a random string, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Xq8b3XcSi0Qm2lG4m3XlzXqJj0cH7i8Wv4h8Zc1yLs";

/// The lowest zxcvbn score (0–4) a new password may have: 3 is "safely unguessable:
/// moderate protection from an offline slow-hash scenario".
pub const MIN_STRENGTH: u8 = 3;

/// Words zxcvbn's English dictionaries lack but that a guesser here tries first: "password"
/// in Vietnamese, the product, the field, the province's places, common Vietnamese phrases
/// found in breached password lists. They are scored like the account's own name.
const LOCAL_WORDS: &[&str] = &[
    "matkhau",
    "mat-khau",
    "mk",
    "parindex",
    "cchc",
    "caicach",
    "hanhchinh",
    "caicachhanhchinh",
    "chiso",
    "quantri",
    "admin",
    "thuky",
    "canbo",
    "vietnam",
    "hanoi",
    "saigon",
    "hochiminh",
    "daklak",
    "buonmathuot",
    "anhyeuem",
    "emyeuanh",
    "yeuem",
    "xinchao",
    "iloveyou",
];

/// Why a new password is too easy to guess, if it is: zxcvbn's estimate below
/// [`MIN_STRENGTH`], counting common and breached passwords, words, names, dates, keyboard
/// patterns, repeats, and the `user_inputs` (the account's own name and username, the
/// province's name), with and without diacritics.
pub fn weakness(password: &str, user_inputs: &[&str]) -> Option<String> {
    // zxcvbn compares letters as typed, and a password is typed without diacritics: "Lãnh
    // đạo" must also be known as "lanh", "dao" and "lanhdao", "Tỉnh Sông Lam" as "songlam".
    let mut folded: Vec<String> = Vec::new();
    for input in user_inputs {
        let words: Vec<String> = parindex_domain::text::fold_for_search(input)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        for pair in words.windows(2) {
            folded.push(pair.concat());
        }
        folded.push(words.concat());
        folded.extend(words);
    }
    let inputs: Vec<&str> = user_inputs
        .iter()
        .flat_map(|s| s.split_whitespace())
        .chain(user_inputs.iter().copied())
        .chain(folded.iter().map(String::as_str))
        .chain(LOCAL_WORDS.iter().copied())
        .collect();
    // zxcvbn adds a large margin for every extra part, so a name with a year and a symbol
    // ("SongLam@2026", three parts) reaches its threshold although a guesser tries it first.
    // A password whose letters are only such a name or local word is refused outright.
    let letters: String = parindex_domain::text::fold_for_search(password)
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect();
    let only_a_name = letters.len() >= 3
        && folded
            .iter()
            .map(String::as_str)
            .chain(LOCAL_WORDS.iter().copied())
            .any(|name| name.replace('-', "") == letters);
    let score = u8::from(zxcvbn::zxcvbn(password, &inputs).score());
    (only_a_name || score < MIN_STRENGTH).then(|| {
        "Mật khẩu quá dễ đoán (giống mật khẩu phổ biến hoặc đã bị lộ, từ thông dụng, tên, ngày tháng, chuỗi lặp hay phím liền nhau). Hãy dùng một cụm dài hơn gồm nhiều từ không liên quan, ví dụ «Cay-bang-mua-thu-1987»."
            .to_owned()
    })
}

/// A random password a person can type from a printout: 4 groups of 4 letters and digits,
/// without look-alikes (0/O, 1/l/I).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("OS randomness");
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    // At least one digit keeps the password policy satisfied.
    let mut groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
    groups[3].replace_range(3..4, &((bytes[0] % 8) + 2).to_string());
    groups.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("Hoa-sen-2026".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify("Hoa-sen-2026".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("hoa-sen-2026".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    #[test]
    fn common_and_breached_patterns_are_weak() {
        for weak in [
            "Password123!",
            "Matkhau@123",
            "qwerty123456",
            "P@ssw0rd2026",
            "Admin@123456",
            "abc123456789",
            "Mat-khau-2026",
            "Anhyeuem-2026",
        ] {
            assert!(
                weakness(weak, &["thuky", "Người thử thuky"]).is_some(),
                "{weak}"
            );
        }
        assert!(weakness("Cay-bang-mua-thu-1987", &["thuky"]).is_none());
        assert!(weakness("Hoa-mai-2027", &["canbo.stp"]).is_none());
        assert!(weakness(&generate_password(), &["thuky"]).is_none());
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        for _ in 0..50 {
            let p = generate_password();
            assert_eq!(p.len(), 19);
            assert!(
                parindex_domain::NewPassword::parse(&p, "user").is_ok(),
                "{p}"
            );
        }
    }
}
