//! Reusable checks for attribute values, and the parsers behind them
//! (Kubernetes quantities, durations, CIDR blocks). Each check's error says
//! what is allowed, since Terraform shows it next to the attribute.

use std::net::Ipv4Addr;

use super::value::Value;

/// One of a fixed set of strings.
pub fn one_of(
    allowed: &'static [&'static str],
) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
    move |v| match v.as_str() {
        Some(s) if allowed.contains(&s) => Ok(()),
        Some(s) => Err(format!(
            "{s:?} is not allowed: use one of {}.",
            quoted(allowed)
        )),
        None => Ok(()),
    }
}

/// Every element of a list or set is one of a fixed set of strings.
pub fn each_one_of(
    allowed: &'static [&'static str],
) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
    let check = one_of(allowed);
    move |v| v.elements().iter().try_for_each(&check)
}

fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A whole number within `min..=max`.
pub fn int_between(min: i64, max: i64) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
    move |v| match v.as_f64() {
        Some(n) if n.fract() != 0.0 => Err(format!("{n} is not a whole number.")),
        Some(n) if n < min as f64 || n > max as f64 => Err(format!(
            "{n} is out of range: it must be between {min} and {max}."
        )),
        _ => Ok(()),
    }
}

/// A GKE cluster or node pool name: lowercase letters, digits and hyphens,
/// starting with a letter, not ending with a hyphen, at most 40 characters.
pub fn gke_name(v: &Value) -> Result<(), String> {
    name_rule(v, 40, "GKE names")
}

/// An Artifact Registry repository ID or similar Google resource name: the
/// same rule as GKE names, at most 63 characters.
pub fn google_resource_name(v: &Value) -> Result<(), String> {
    name_rule(v, 63, "Names")
}

fn name_rule(v: &Value, max: usize, what: &str) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    let valid = s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid name. {what} must start with a lowercase letter, contain only lowercase letters, digits and hyphens, not end with a hyphen, and be at most {max} characters long."
        ))
    }
}

/// A Kubernetes DNS-1123 label (namespaces, services): at most 63
/// characters of lowercase letters, digits and '-', alphanumeric at both ends.
pub fn dns1123_label(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    if is_dns1123_label(s) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid DNS-1123 label: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit."
        ))
    }
}

pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A Kubernetes DNS-1123 subdomain (deployments, config maps): dot-separated
/// labels, at most 253 characters.
pub fn dns1123_subdomain(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    if s.len() <= 253 && s.split('.').all(is_dns1123_label) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid DNS-1123 subdomain: use at most 253 characters of lowercase letters, digits, '-' and '.', starting and ending with a letter or digit."
        ))
    }
}

/// Keys and values of Google Cloud labels.
pub fn gcp_labels(v: &Value) -> Result<(), String> {
    for (key, value) in v.entries().into_iter().flatten() {
        let key_ok = !key.is_empty()
            && key.len() <= 63
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !key_ok {
            return Err(format!(
                "label key {key:?} is invalid: keys start with a lowercase letter and hold at most 63 lowercase letters, digits, '_' and '-'."
            ));
        }
        if let Some(value) = value.as_str()
            && !(value.len() <= 63
                && value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'))
        {
            return Err(format!(
                "label value {value:?} (key {key:?}) is invalid: values hold at most 63 lowercase letters, digits, '_' and '-'."
            ));
        }
    }
    Ok(())
}

/// An IPv4 CIDR block such as `10.0.0.0/16`, with no host bits set.
pub fn cidr(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    parse_cidr(s).map(|_| ())
}

/// An IPv4 CIDR block with exactly the given prefix length.
pub fn cidr_with_prefix(prefix: u8) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
    move |v| {
        let Some(s) = v.as_str() else { return Ok(()) };
        let (_, len) = parse_cidr(s)?;
        if len == prefix {
            Ok(())
        } else {
            Err(format!(
                "{s:?} is a /{len}: this range must be a /{prefix}, such as \"172.16.0.0/{prefix}\"."
            ))
        }
    }
}

/// Parses `a.b.c.d/n`, refusing host bits outside the prefix.
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let bad = || {
        format!(
            "{s:?} is not a valid IPv4 CIDR block: write it as an address and a prefix length, such as \"10.0.0.0/16\"."
        )
    };
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let len: u8 = len.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(bad());
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    if u32::from(addr) & !mask != 0 {
        let network = Ipv4Addr::from(u32::from(addr) & mask);
        return Err(format!(
            "{s:?} has host bits set: the network address of this block is \"{network}/{len}\"."
        ));
    }
    Ok((addr, len))
}

/// A Kubernetes resource quantity (`500m`, `512Mi`, `1.5`, `2e3`).
pub fn quantity(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    parse_quantity(s).map(|_| ()).ok_or_else(|| {
        format!("{s:?} is not a valid Kubernetes quantity: write a number with an optional suffix, such as \"500m\", \"2\", \"512Mi\" or \"1G\".")
    })
}

/// A quantity in billionths of its unit, so that spellings compare exactly:
/// `1`, `1000m` and `1e3m` all give 1_000_000_000.
pub fn parse_quantity(s: &str) -> Option<i128> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let number = number.strip_prefix('+').unwrap_or(number);
    let (negative, number) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_digit())
        || fraction.len() > 9
    {
        return None;
    }
    let digits: i128 = format!("{whole}{fraction}").parse().ok()?;
    let scale = fraction.len() as u32;
    // (multiplier, power of ten) for the suffix.
    let (multiplier, exponent): (i128, i32) = match suffix {
        "" => (1, 0),
        "n" => (1, -9),
        "u" => (1, -6),
        "m" => (1, -3),
        "k" => (1, 3),
        "M" => (1, 6),
        "G" => (1, 9),
        "T" => (1, 12),
        "P" => (1, 15),
        "E" => (1, 18),
        "Ki" => (1 << 10, 0),
        "Mi" => (1 << 20, 0),
        "Gi" => (1 << 30, 0),
        "Ti" => (1 << 40, 0),
        "Pi" => (1 << 50, 0),
        "Ei" => (1 << 60, 0),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            (1, exp.parse::<i32>().ok().filter(|e| e.abs() <= 18)?)
        }
    };
    // value = digits / 10^scale * multiplier * 10^exponent, in units of 1e-9.
    let power = exponent + 9 - scale as i32;
    let base = digits.checked_mul(multiplier)?;
    let nanos = if power >= 0 {
        base.checked_mul(10i128.checked_pow(power as u32)?)?
    } else {
        base / 10i128.checked_pow((-power) as u32)?
    };
    Some(if negative { -nanos } else { nanos })
}

/// Two quantities are the same amount.
pub fn same_quantity(a: &Value, b: &Value) -> bool {
    match (
        a.as_str().and_then(parse_quantity),
        b.as_str().and_then(parse_quantity),
    ) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// A duration such as `90d`, `7776000s`, `1h30m` or `3.5s`.
pub fn duration(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    parse_duration(s).map(|_| ()).ok_or_else(|| {
        format!("{s:?} is not a valid duration: write numbers with units s, m, h or d, such as \"90d\", \"7776000s\" or \"1h30m\".")
    })
}

/// An HTTP request path: from `/`, with no spaces or fragment.
pub fn http_path(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    if !s.starts_with('/') || s.contains(|c: char| c.is_whitespace() || c == '#') {
        return Err(format!(
            "{s:?} is not an HTTP path: start it with / and leave out spaces and fragments, such as \"/healthz\" or \"/check?window=5m\"."
        ));
    }
    Ok(())
}

/// A duration as Go writes them (`1h`, `2h30m`, `10s`, `0`), for fields
/// read by Go controllers: units up to hours, no days.
pub fn go_duration(v: &Value) -> Result<(), String> {
    let Some(s) = v.as_str() else { return Ok(()) };
    let mut rest = s.strip_prefix(['+', '-']).unwrap_or(s);
    let mut valid = !rest.is_empty();
    if rest != "0" {
        while valid && !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (number, tail) = rest.split_at(digits);
            let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
                .iter()
                .filter(|u| tail.starts_with(*u))
                .max_by_key(|u| u.len());
            valid = number.parse::<f64>().is_ok() && unit.is_some();
            rest = unit.map_or("", |u| &tail[u.len()..]);
        }
    }
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid duration: write it as Go does, with units h, m, s or ms, such as \"1h\", \"2h30m\" or \"10s\" (\"0\" for none)."
        ))
    }
}

/// A duration in seconds. Units: `s`, `m`, `h`, `d` (and `ms` for the odd
/// timeout), combined as in `1h30m`.
pub fn parse_duration(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(split);
        let n: f64 = number.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let factor = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return None,
        };
        total += n * factor;
        rest = next;
    }
    total.is_finite().then_some(total)
}

/// Two lists with the same members in any order: for lists whose order
/// means nothing (namespaces), so a read in another order is no diff.
pub fn same_members(a: &Value, b: &Value) -> bool {
    let sorted = |v: &Value| {
        let mut items = v.elements().to_vec();
        items.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
        items
    };
    matches!((a, b), (Value::List(_), Value::List(_))) && sorted(a) == sorted(b)
}

/// Two durations are the same length of time.
pub fn same_duration(a: &Value, b: &Value) -> bool {
    match (
        a.as_str().and_then(parse_duration),
        b.as_str().and_then(parse_duration),
    ) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_are_checked_as_go_parses_them() {
        for ok in ["1h", "2h30m", "10s", "1.5h", "0", "300ms", "1h0m0s"] {
            assert!(go_duration(&Value::from(ok)).is_ok(), "{ok}");
        }
        for bad in ["1d", "", "h", "10", "5 m", "1hour"] {
            assert!(go_duration(&Value::from(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn http_paths_start_with_a_slash() {
        for ok in ["/", "/healthz", "/check?window=5m"] {
            assert!(http_path(&Value::from(ok)).is_ok(), "{ok}");
        }
        for bad in ["healthz", "", "/a b", "/a#b"] {
            assert!(http_path(&Value::from(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn quantities_compare_by_amount() {
        assert_eq!(parse_quantity("1"), parse_quantity("1000m"));
        assert_eq!(parse_quantity("0.5"), parse_quantity("500m"));
        assert_eq!(parse_quantity("1Ki"), parse_quantity("1024"));
        assert_eq!(parse_quantity("1e3"), parse_quantity("1k"));
        assert_eq!(
            parse_quantity("2Gi"),
            Some(2 * (1i128 << 30) * 1_000_000_000)
        );
        for bad in ["", "abc", "1.2.3", "5X", "m", "1e99", "--1"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
        assert!(same_quantity(&"1".into(), &"1000m".into()));
        assert!(!same_quantity(&"1".into(), &"100m".into()));
    }

    #[test]
    fn durations_compare_by_length() {
        assert_eq!(parse_duration("90d"), Some(7_776_000.0));
        assert_eq!(parse_duration("7776000s"), Some(7_776_000.0));
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("3.5s"), Some(3.5));
        for bad in ["", "90", "d", "5y", "1h30"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert!(same_duration(&"90d".into(), &"7776000s".into()));
    }

    #[test]
    fn cidr_blocks_are_checked() {
        assert!(cidr(&"10.0.0.0/16".into()).is_ok());
        assert!(
            cidr(&"10.0.0.1/16".into())
                .unwrap_err()
                .contains("10.0.0.0/16")
        );
        assert!(cidr(&"10.0.0.0".into()).is_err());
        assert!(cidr(&"300.0.0.0/8".into()).is_err());
        let master = cidr_with_prefix(28);
        assert!(master(&"172.16.0.0/28".into()).is_ok());
        assert!(master(&"172.16.0.0/24".into()).unwrap_err().contains("/28"));
    }

    #[test]
    fn names_follow_gke_rules() {
        assert!(gke_name(&"genesis-prod".into()).is_ok());
        for bad in ["Genesis", "1abc", "abc-", "a_b", &"a".repeat(41)] {
            assert!(gke_name(&bad.into()).is_err(), "{bad}");
        }
        assert!(dns1123_label(&"claude-talk".into()).is_ok());
        assert!(dns1123_label(&"Claude".into()).is_err());
        assert!(dns1123_subdomain(&"api.v1".into()).is_ok());
    }

    #[test]
    fn gcp_labels_are_checked() {
        let ok = Value::Map([("team".to_string(), "platform".into())].into());
        assert!(gcp_labels(&ok).is_ok());
        let bad = Value::Map([("Team".to_string(), "x".into())].into());
        assert!(gcp_labels(&bad).is_err());
    }
}
