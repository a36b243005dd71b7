//! Jurisdictions: ISO 3166-1 alpha-2 country codes, and ISO 3166-2 `US-XX`
//! codes for US states, districts and territories (each has its own breach law).

use std::fmt;

/// ISO 3166-1 alpha-2 codes officially assigned (249 entries).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT \
MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG \
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// ISO 3166-2:US subdivisions: 50 states, DC and the outlying areas.
const US_SUBDIVISIONS: &str = "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY \
NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR UM VI";

/// A validated jurisdiction code such as `JP`, `DE` or `US-CA`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jurisdiction(String);

impl Jurisdiction {
    /// Parses a code, accepting lower case input; the stored form is upper case.
    pub fn parse(code: &str) -> Result<Self, String> {
        let upper = code.trim().to_ascii_uppercase();
        let known = match upper.split_once('-') {
            None => is_listed(COUNTRIES, &upper),
            Some(("US", state)) => is_listed(US_SUBDIVISIONS, state),
            Some(_) => false,
        };
        if known {
            Ok(Self(upper))
        } else {
            Err(format!(
                "unknown jurisdiction '{code}': use an ISO 3166-1 alpha-2 code (JP, DE, CA) or US-XX for a US state"
            ))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country part: `US` for `US-CA`, the code itself otherwise.
    pub fn country(&self) -> &str {
        self.0
            .split_once('-')
            .map_or(&self.0, |(country, _)| country)
    }
}

fn is_listed(list: &str, code: &str) -> bool {
    code.len() == 2 && list.split_ascii_whitespace().any(|c| c == code)
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Jurisdiction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Jurisdiction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Jurisdiction::parse(&code).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_countries_and_us_states() {
        assert_eq!(Jurisdiction::parse("jp").map(|j| j.0), Ok("JP".into()));
        assert_eq!(
            Jurisdiction::parse("US-CA").map(|j| j.country().to_string()),
            Ok("US".into())
        );
        assert_eq!(COUNTRIES.split_ascii_whitespace().count(), 249);
        assert_eq!(US_SUBDIVISIONS.split_ascii_whitespace().count(), 57);
    }

    #[test]
    fn rejects_unknown_codes() {
        for bad in ["XX", "USA", "US-ZZ", "DE-BY", "", "J"] {
            assert!(Jurisdiction::parse(bad).is_err(), "{bad}");
        }
    }
}
