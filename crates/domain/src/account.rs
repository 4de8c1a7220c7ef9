//! Accounts: usernames, e-mail addresses and the password policy.

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

/// An e-mail address as a person's account holds it: `local@domain`, the local part of the
/// characters RFC 5322 allows without quoting (no leading, trailing or doubled dot), the
/// domain of letter-digit-hyphen labels with at least one dot and an alphabetic top level;
/// at most 254 characters. Quoted local parts, IP-literal domains and Unicode are refused:
/// no provincial mailbox needs them, and the address goes into mail headers. The domain is
/// stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let bad = || {
            InvalidInput::new(
                "email",
                "Địa chỉ e-mail không hợp lệ: cần dạng ten@coquan.gov.vn, không dấu, không khoảng trắng",
            )
        };
        let text = input.trim();
        if text.len() > 254 {
            return Err(bad());
        }
        let (local, domain) = text.split_once('@').ok_or_else(bad)?;
        let local_ok = (1..=64).contains(&local.len())
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                (1..=63).contains(&l.len())
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if !(local_ok && domain_ok) {
            return Err(bad());
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
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
    fn email_addresses() {
        assert_eq!(
            Email::parse(" an.nguyen@SoTuPhap.GOV.vn ")
                .unwrap()
                .as_str(),
            "an.nguyen@sotuphap.gov.vn"
        );
        assert!(Email::parse("a+b@x.vn").is_ok());
        for bad in [
            "",
            "an",
            "an@",
            "@x.vn",
            "an@x",
            "an@@x.vn",
            "an@x..vn",
            ".an@x.vn",
            "an..b@x.vn",
            "an b@x.vn",
            "an@x.vn\r\nBcc: y@z.vn",
            "nguyễn@x.vn",
            "an@-x.vn",
            "an@x.v1",
            "a\"b@x.vn",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" ThuKy ").unwrap().as_str(), "thuky");
        assert!(Username::parse("thư ký").is_err());
    }
}
