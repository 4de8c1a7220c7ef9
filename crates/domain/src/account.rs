//! Accounts: usernames and the password policy.

use crate::InvalidInput;

/// A login name: 3–64 characters of a–z, 0–9, `.`, `_`, `-`, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let name = input.trim().to_lowercase();
        let len = name.chars().count();
        if !(3..=64).contains(&len)
            || !name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            })
        {
            return Err(InvalidInput::new(
                "username",
                "Tên đăng nhập dài 3–64 ký tự, gồm chữ không dấu, chữ số và . _ -",
            ));
        }
        Ok(Username(name))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password that meets the policy: at least 10 characters, not all of one kind, and
/// not containing the username.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    pub fn parse(input: &str, username: &str) -> Result<Self, InvalidInput> {
        let len = input.chars().count();
        if len < 10 {
            return Err(InvalidInput::new(
                "new_password",
                "Mật khẩu phải có ít nhất 10 ký tự",
            ));
        }
        if len > 256 {
            return Err(InvalidInput::new(
                "new_password",
                "Mật khẩu dài quá 256 ký tự",
            ));
        }
        let has_letter = input.chars().any(char::is_alphabetic);
        let has_other = input.chars().any(|c| !c.is_alphabetic());
        if !(has_letter && has_other) {
            return Err(InvalidInput::new(
                "new_password",
                "Mật khẩu phải có cả chữ cái và chữ số hoặc ký hiệu",
            ));
        }
        if !username.is_empty() && input.to_lowercase().contains(&username.to_lowercase()) {
            return Err(InvalidInput::new(
                "new_password",
                "Mật khẩu không được chứa tên đăng nhập",
            ));
        }
        Ok(NewPassword(input.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(NewPassword::parse("short1", "an").is_err());
        assert!(NewPassword::parse("abcdefghijk", "an").is_err());
        assert!(NewPassword::parse("thuky2026-mat-khau", "thuky").is_err());
        assert!(NewPassword::parse("Hoa-sen-2026", "thuky").is_ok());
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" ThuKy ").unwrap().as_str(), "thuky");
        assert!(Username::parse("thư ký").is_err());
    }
}
