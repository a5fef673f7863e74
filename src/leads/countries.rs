//! The country list of the contact form: Odoo's `res.country` records when Odoo has answered
//! (cached in memory, refreshed by the lead controller), otherwise a built-in ISO 3166-1 list.
//! The booth's home markets come first (Switzerland, Germany, Austria, France, Italy), then the
//! rest alphabetically.
//!
//! Pure data and ordering; the fetching is done by the controller through the `Odoo` trait.
//!
//! May call: nothing else of the crate.

use std::sync::{Arc, RwLock};

/// One option of the country select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    /// Odoo's `res.country` id, when the list came from Odoo.
    pub id: Option<i64>,
    /// ISO 3166-1 alpha-2 code.
    pub code: String,
    pub name: String,
}

impl Country {
    /// The value of the `<option>`: the Odoo id when known (as the original form sent), else the
    /// ISO code.
    pub fn value(&self) -> String {
        match self.id {
            Some(id) => id.to_string(),
            None => self.code.clone(),
        }
    }
}

/// ISO codes of the countries shown first, in this order.
pub(crate) const PREFERRED: [&str; 5] = ["CH", "DE", "AT", "FR", "IT"];

/// Preferred countries first (in `PREFERRED` order), then the rest by name.
pub fn order(mut countries: Vec<Country>) -> Vec<Country> {
    let rank = |c: &Country| PREFERRED.iter().position(|p| p.eq_ignore_ascii_case(&c.code)).unwrap_or(PREFERRED.len());
    countries.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())));
    countries
}

/// The built-in list (ISO 3166-1, common English names), ordered.
pub fn builtin() -> Vec<Country> {
    order(BUILTIN.iter().map(|(code, name)| Country { id: None, code: (*code).into(), name: (*name).into() }).collect())
}

/// The list the form shows: Odoo's once fetched, the built-in one until then.
#[derive(Clone)]
pub struct CountryCache {
    inner: Arc<RwLock<Arc<Vec<Country>>>>,
    from_odoo: Arc<std::sync::atomic::AtomicBool>,
}

impl Default for CountryCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CountryCache {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(RwLock::new(Arc::new(builtin()))),
            from_odoo: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }

    pub fn list(&self) -> Arc<Vec<Country>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether the list came from Odoo.
    pub(crate) fn is_from_odoo(&self) -> bool {
        self.from_odoo.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Replaces the list with Odoo's (ignored when empty: an empty answer is not a country list).
    pub(crate) fn set_from_odoo(&self, countries: Vec<Country>) {
        if countries.is_empty() {
            return;
        }
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(order(countries));
        self.from_odoo.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The country a form value names: an Odoo id or an ISO code present in the current list.
    pub fn find(&self, value: &str) -> Option<Country> {
        let value = value.trim();
        self.list().iter().find(|c| c.value() == value || c.code.eq_ignore_ascii_case(value)).cloned()
    }
}

/// ISO 3166-1 alpha-2 codes and common English names (from Debian's iso-codes).
const BUILTIN: &[(&str, &str)] = &[
    ("AF", "Afghanistan"),
    ("AL", "Albania"),
    ("DZ", "Algeria"),
    ("AS", "American Samoa"),
    ("AD", "Andorra"),
    ("AO", "Angola"),
    ("AI", "Anguilla"),
    ("AQ", "Antarctica"),
    ("AG", "Antigua and Barbuda"),
    ("AR", "Argentina"),
    ("AM", "Armenia"),
    ("AW", "Aruba"),
    ("AU", "Australia"),
    ("AT", "Austria"),
    ("AZ", "Azerbaijan"),
    ("BS", "Bahamas"),
    ("BH", "Bahrain"),
    ("BD", "Bangladesh"),
    ("BB", "Barbados"),
    ("BY", "Belarus"),
    ("BE", "Belgium"),
    ("BZ", "Belize"),
    ("BJ", "Benin"),
    ("BM", "Bermuda"),
    ("BT", "Bhutan"),
    ("BO", "Bolivia"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BA", "Bosnia and Herzegovina"),
    ("BW", "Botswana"),
    ("BV", "Bouvet Island"),
    ("BR", "Brazil"),
    ("IO", "British Indian Ocean Territory"),
    ("BN", "Brunei Darussalam"),
    ("BG", "Bulgaria"),
    ("BF", "Burkina Faso"),
    ("BI", "Burundi"),
    ("CV", "Cabo Verde"),
    ("KH", "Cambodia"),
    ("CM", "Cameroon"),
    ("CA", "Canada"),
    ("KY", "Cayman Islands"),
    ("CF", "Central African Republic"),
    ("TD", "Chad"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CX", "Christmas Island"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CO", "Colombia"),
    ("KM", "Comoros"),
    ("CG", "Congo"),
    ("CD", "Congo, The Democratic Republic of the"),
    ("CK", "Cook Islands"),
    ("CR", "Costa Rica"),
    ("HR", "Croatia"),
    ("CU", "Cuba"),
    ("CW", "Curaçao"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("CI", "Côte d'Ivoire"),
    ("DK", "Denmark"),
    ("DJ", "Djibouti"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("EC", "Ecuador"),
    ("EG", "Egypt"),
    ("SV", "El Salvador"),
    ("GQ", "Equatorial Guinea"),
    ("ER", "Eritrea"),
    ("EE", "Estonia"),
    ("SZ", "Eswatini"),
    ("ET", "Ethiopia"),
    ("FK", "Falkland Islands (Malvinas)"),
    ("FO", "Faroe Islands"),
    ("FJ", "Fiji"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GF", "French Guiana"),
    ("PF", "French Polynesia"),
    ("TF", "French Southern Territories"),
    ("GA", "Gabon"),
    ("GM", "Gambia"),
    ("GE", "Georgia"),
    ("DE", "Germany"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GR", "Greece"),
    ("GL", "Greenland"),
    ("GD", "Grenada"),
    ("GP", "Guadeloupe"),
    ("GU", "Guam"),
    ("GT", "Guatemala"),
    ("GG", "Guernsey"),
    ("GN", "Guinea"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HT", "Haiti"),
    ("HM", "Heard Island and McDonald Islands"),
    ("VA", "Holy See (Vatican City State)"),
    ("HN", "Honduras"),
    ("HK", "Hong Kong"),
    ("HU", "Hungary"),
    ("IS", "Iceland"),
    ("IN", "India"),
    ("ID", "Indonesia"),
    ("IR", "Iran"),
    ("IQ", "Iraq"),
    ("IE", "Ireland"),
    ("IM", "Isle of Man"),
    ("IL", "Israel"),
    ("IT", "Italy"),
    ("JM", "Jamaica"),
    ("JP", "Japan"),
    ("JE", "Jersey"),
    ("JO", "Jordan"),
    ("KZ", "Kazakhstan"),
    ("KE", "Kenya"),
    ("KI", "Kiribati"),
    ("KW", "Kuwait"),
    ("KG", "Kyrgyzstan"),
    ("LA", "Laos"),
    ("LV", "Latvia"),
    ("LB", "Lebanon"),
    ("LS", "Lesotho"),
    ("LR", "Liberia"),
    ("LY", "Libya"),
    ("LI", "Liechtenstein"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("MO", "Macao"),
    ("MG", "Madagascar"),
    ("MW", "Malawi"),
    ("MY", "Malaysia"),
    ("MV", "Maldives"),
    ("ML", "Mali"),
    ("MT", "Malta"),
    ("MH", "Marshall Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MU", "Mauritius"),
    ("YT", "Mayotte"),
    ("MX", "Mexico"),
    ("FM", "Micronesia, Federated States of"),
    ("MD", "Moldova"),
    ("MC", "Monaco"),
    ("MN", "Mongolia"),
    ("ME", "Montenegro"),
    ("MS", "Montserrat"),
    ("MA", "Morocco"),
    ("MZ", "Mozambique"),
    ("MM", "Myanmar"),
    ("NA", "Namibia"),
    ("NR", "Nauru"),
    ("NP", "Nepal"),
    ("NL", "Netherlands"),
    ("NC", "New Caledonia"),
    ("NZ", "New Zealand"),
    ("NI", "Nicaragua"),
    ("NE", "Niger"),
    ("NG", "Nigeria"),
    ("NU", "Niue"),
    ("NF", "Norfolk Island"),
    ("KP", "North Korea"),
    ("MK", "North Macedonia"),
    ("MP", "Northern Mariana Islands"),
    ("NO", "Norway"),
    ("OM", "Oman"),
    ("PK", "Pakistan"),
    ("PW", "Palau"),
    ("PS", "Palestine, State of"),
    ("PA", "Panama"),
    ("PG", "Papua New Guinea"),
    ("PY", "Paraguay"),
    ("PE", "Peru"),
    ("PH", "Philippines"),
    ("PN", "Pitcairn"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("PR", "Puerto Rico"),
    ("QA", "Qatar"),
    ("RO", "Romania"),
    ("RU", "Russian Federation"),
    ("RW", "Rwanda"),
    ("RE", "Réunion"),
    ("BL", "Saint Barthélemy"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("KN", "Saint Kitts and Nevis"),
    ("LC", "Saint Lucia"),
    ("MF", "Saint Martin (French part)"),
    ("PM", "Saint Pierre and Miquelon"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("WS", "Samoa"),
    ("SM", "San Marino"),
    ("ST", "Sao Tome and Principe"),
    ("SA", "Saudi Arabia"),
    ("SN", "Senegal"),
    ("RS", "Serbia"),
    ("SC", "Seychelles"),
    ("SL", "Sierra Leone"),
    ("SG", "Singapore"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SK", "Slovakia"),
    ("SI", "Slovenia"),
    ("SB", "Solomon Islands"),
    ("SO", "Somalia"),
    ("ZA", "South Africa"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("KR", "South Korea"),
    ("SS", "South Sudan"),
    ("ES", "Spain"),
    ("LK", "Sri Lanka"),
    ("SD", "Sudan"),
    ("SR", "Suriname"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("SY", "Syria"),
    ("TW", "Taiwan"),
    ("TJ", "Tajikistan"),
    ("TZ", "Tanzania"),
    ("TH", "Thailand"),
    ("TL", "Timor-Leste"),
    ("TG", "Togo"),
    ("TK", "Tokelau"),
    ("TO", "Tonga"),
    ("TT", "Trinidad and Tobago"),
    ("TN", "Tunisia"),
    ("TM", "Turkmenistan"),
    ("TC", "Turks and Caicos Islands"),
    ("TV", "Tuvalu"),
    ("TR", "Türkiye"),
    ("UG", "Uganda"),
    ("UA", "Ukraine"),
    ("AE", "United Arab Emirates"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
    ("UM", "United States Minor Outlying Islands"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VU", "Vanuatu"),
    ("VE", "Venezuela"),
    ("VN", "Vietnam"),
    ("VG", "Virgin Islands, British"),
    ("VI", "Virgin Islands, U.S."),
    ("WF", "Wallis and Futuna"),
    ("EH", "Western Sahara"),
    ("YE", "Yemen"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
    ("AX", "Åland Islands"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferred_countries_come_first_then_alphabetical() {
        let list = builtin();
        let codes: Vec<&str> = list.iter().take(7).map(|c| c.code.as_str()).collect();
        assert_eq!(&codes[..5], &PREFERRED);
        assert_eq!(list[5].name, "Afghanistan");
        assert!(list.len() > 240);
        let rest: Vec<String> = list[5..].iter().map(|c| c.name.to_lowercase()).collect();
        let mut sorted = rest.clone();
        sorted.sort();
        assert_eq!(rest, sorted);
    }

    #[test]
    fn the_cache_prefers_odoo_and_finds_by_id_or_code() {
        let cache = CountryCache::new();
        assert_eq!(cache.find("ch").unwrap().name, "Switzerland");
        assert!(!cache.is_from_odoo());
        cache.set_from_odoo(vec![
            Country { id: Some(233), code: "US".into(), name: "United States".into() },
            Country { id: Some(43), code: "CH".into(), name: "Switzerland".into() },
        ]);
        assert!(cache.is_from_odoo());
        assert_eq!(cache.list()[0].code, "CH");
        assert_eq!(cache.find("43").unwrap().code, "CH");
        assert_eq!(cache.find("233").unwrap().value(), "233");
        assert!(cache.find("999").is_none());
        assert!(cache.find("DE").is_none(), "only what the form offers is accepted");
        cache.set_from_odoo(Vec::new());
        assert_eq!(cache.list().len(), 2);
    }
}
