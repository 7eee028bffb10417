//! Email addresses and mobile numbers as identifiers of an account.

/// Normalises an email address (trimmed, lower case) or says why it is not one.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let v = raw.trim().to_lowercase();
    let parsed: email_address::EmailAddress = v.parse().map_err(|_| "err.email_invalid")?;
    if !parsed.domain().contains('.') {
        return Err("err.email_invalid");
    }
    Ok(parsed.as_str().to_string())
}

/// Normalises a mobile number to E.164 (`+8613800138000`). Numbers without a country
/// code are read in `default_region` (e.g. "CN").
pub fn normalize_mobile(raw: &str, default_region: &str) -> Result<String, &'static str> {
    let region = default_region.parse::<phonenumber::country::Id>().ok();
    let number = phonenumber::parse(region, raw.trim()).map_err(|_| "err.mobile_invalid")?;
    if !phonenumber::is_valid(&number) {
        return Err("err.mobile_invalid");
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Alice@Example.COM "),
            Ok("alice@example.com".into())
        );
        assert!(normalize_email("alice").is_err());
        assert!(normalize_email("alice@localhost").is_err());
    }

    #[test]
    fn mobiles() {
        assert_eq!(
            normalize_mobile("13800138000", "CN"),
            Ok("+8613800138000".into())
        );
        assert_eq!(
            normalize_mobile("+86 138-0013-8000", "CN"),
            Ok("+8613800138000".into())
        );
        assert_eq!(
            normalize_mobile("+1 415 555 2671", "CN"),
            Ok("+14155552671".into())
        );
        assert!(normalize_mobile("12", "CN").is_err());
        assert!(normalize_mobile("call me", "CN").is_err());
    }
}
