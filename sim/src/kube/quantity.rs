//! Kubernetes resource quantities in their canonical form, as the API server
//! stores them: `2000m` becomes `2`, `1024Mi` becomes `1Gi`, `0.5` becomes
//! `500m`.

/// The amount a quantity stands for, near enough to compare two.
pub fn amount(s: &str) -> Option<f64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// The canonical spelling of a quantity, or `None` when it does not parse.
pub fn canonical(s: &str) -> Option<String> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let (negative, number) = match number.strip_prefix('-') {
        Some(n) => (true, n),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !(whole.chars().chain(fraction.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    // value = digits * 10^exp10 * 2^exp2
    let digits: u128 = format!("{whole}{fraction}")
        .trim_start_matches('0')
        .parse()
        .unwrap_or(0);
    let mut exp10: i32 = -(fraction.len() as i32);
    let mut exp2: i32 = 0;
    let binary;
    match suffix {
        "" => binary = false,
        "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" => {
            binary = false;
            exp10 += match suffix {
                "n" => -9,
                "u" => -6,
                "m" => -3,
                "k" => 3,
                "M" => 6,
                "G" => 9,
                "T" => 12,
                "P" => 15,
                _ => 18,
            };
        }
        "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" => {
            binary = true;
            exp2 = match suffix {
                "Ki" => 10,
                "Mi" => 20,
                "Gi" => 30,
                "Ti" => 40,
                "Pi" => 50,
                _ => 60,
            };
        }
        _ => {
            let e = suffix.strip_prefix(['e', 'E'])?;
            exp10 += e.parse::<i32>().ok().filter(|e| e.abs() <= 18)?;
            binary = false;
        }
    }
    if digits == 0 {
        return Some("0".into());
    }
    let sign = if negative { "-" } else { "" };
    if binary {
        // Exact binary amounts keep a binary suffix, the largest that fits.
        let total = digits.checked_mul(1u128 << exp2)?;
        let divisor = 10u128.checked_pow((-exp10).max(0) as u32)?;
        if total.is_multiple_of(divisor) {
            let mut value = total / divisor;
            let mut e = 0;
            while e < 60 && value.is_multiple_of(1024) {
                value /= 1024;
                e += 10;
            }
            let suffix = match e {
                0 => "",
                10 => "Ki",
                20 => "Mi",
                30 => "Gi",
                40 => "Ti",
                50 => "Pi",
                _ => "Ei",
            };
            return Some(format!("{sign}{value}{suffix}"));
        }
    }
    // Decimal: normalise to digits * 10^exp10 with a multiple-of-3 exponent.
    let mut value = digits;
    if binary {
        value = value.checked_mul(1u128 << exp2)?;
    }
    while value > 0 && value.is_multiple_of(10) {
        value /= 10;
        exp10 += 1;
    }
    if exp10 < -9 {
        // Below a nano unit the API server rounds up.
        let shift = (-9 - exp10) as u32;
        let divisor = 10u128.pow(shift);
        value = value.div_ceil(divisor);
        exp10 = -9;
    }
    let rem = exp10.rem_euclid(3);
    let exp3 = exp10 - rem;
    value = value.checked_mul(10u128.pow(rem as u32))?;
    let suffix = match exp3 {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        e if e > 18 => {
            value = value.checked_mul(10u128.checked_pow((e - 18) as u32)?)?;
            "E"
        }
        _ => return None,
    };
    Some(format!("{sign}{value}{suffix}"))
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn quantities_take_the_servers_spelling() {
        for (input, expected) in [
            ("2000m", "2"),
            ("1", "1"),
            ("0.5", "500m"),
            ("512Mi", "512Mi"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("1e3", "1k"),
            ("100m", "100m"),
            ("0", "0"),
            ("1500m", "1500m"),
            ("2G", "2G"),
        ] {
            assert_eq!(canonical(input).as_deref(), Some(expected), "{input}");
        }
        for bad in ["one", "", "5X", "1.2.3"] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }
}
