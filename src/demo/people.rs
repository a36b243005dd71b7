//! Names, phone numbers and postal addresses of the customers' markets, for the
//! synthetic registries: names in their own scripts (with the Latin spelling the
//! e-mail address is made from), numbers in E.164 in each country's mobile ranges
//! (fictional ranges where a country has them: US 555-01xx, UK 07700 900xxx), and
//! addresses in each country's own order. Pure data and small functions.

/// A name part in its own script and in Latin letters.
pub type Part = (&'static str, &'static str);

/// How the names of a market are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameOrder {
    /// Family name first, no space (Chinese, Japanese in kanji).
    FamilyFirstJoined,
    /// Family name first, with a space (Japanese).
    FamilyFirstSpaced,
    /// Given name first (Western, Russian).
    GivenFirst,
}

/// The names of one market.
pub struct NameStyle {
    /// Family names.
    pub family: &'static [Part],
    /// Given names, for women.
    pub female: &'static [Part],
    /// Given names, for men.
    pub male: &'static [Part],
    /// Order of the parts.
    pub order: NameOrder,
    /// Russian family names take a feminine ending (-а, -ая).
    pub feminine_family: bool,
}

const ZH_FAMILY: &[Part] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("罗", "luo"),
    ("高", "gao"),
];
const ZH_FEMALE: &[Part] = &[
    ("芳", "fang"),
    ("娜", "na"),
    ("秀英", "xiuying"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("婷", "ting"),
    ("雪梅", "xuemei"),
    ("欣怡", "xinyi"),
    ("子涵", "zihan"),
    ("雨桐", "yutong"),
    ("佳怡", "jiayi"),
];
const ZH_MALE: &[Part] = &[
    ("伟", "wei"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("杰", "jie"),
    ("浩然", "haoran"),
    ("宇轩", "yuxuan"),
    ("子轩", "zixuan"),
    ("建国", "jianguo"),
    ("志强", "zhiqiang"),
];

const TW_FAMILY: &[Part] = &[
    ("陳", "chen"),
    ("林", "lin"),
    ("黃", "huang"),
    ("張", "chang"),
    ("李", "lee"),
    ("王", "wang"),
    ("吳", "wu"),
    ("劉", "liu"),
    ("蔡", "tsai"),
    ("楊", "yang"),
    ("許", "hsu"),
    ("鄭", "cheng"),
];
const TW_FEMALE: &[Part] = &[
    ("怡君", "yichun"),
    ("雅婷", "yating"),
    ("淑芬", "shufen"),
    ("佩珊", "peishan"),
    ("詩涵", "shihhan"),
    ("宜蓁", "yichen"),
    ("欣妤", "hsinyu"),
    ("品妍", "pinyen"),
];
const TW_MALE: &[Part] = &[
    ("家豪", "chiahao"),
    ("志明", "chihming"),
    ("俊傑", "chunchieh"),
    ("建宏", "chienhung"),
    ("承翰", "chenghan"),
    ("宥廷", "yuting"),
    ("冠宇", "kuanyu"),
    ("柏翰", "pohan"),
];

const JA_FAMILY: &[Part] = &[
    ("佐藤", "sato"),
    ("鈴木", "suzuki"),
    ("高橋", "takahashi"),
    ("田中", "tanaka"),
    ("伊藤", "ito"),
    ("渡辺", "watanabe"),
    ("山本", "yamamoto"),
    ("中村", "nakamura"),
    ("小林", "kobayashi"),
    ("加藤", "kato"),
    ("吉田", "yoshida"),
    ("山田", "yamada"),
];
const JA_FEMALE: &[Part] = &[
    ("陽菜", "hina"),
    ("美咲", "misaki"),
    ("結衣", "yui"),
    ("さくら", "sakura"),
    ("花子", "hanako"),
    ("恵美", "emi"),
    ("由美子", "yumiko"),
    ("葵", "aoi"),
];
const JA_MALE: &[Part] = &[
    ("蓮", "ren"),
    ("大翔", "hiroto"),
    ("翔太", "shota"),
    ("健一", "kenichi"),
    ("誠", "makoto"),
    ("拓也", "takuya"),
    ("浩二", "koji"),
    ("悠真", "yuma"),
];

const RU_FAMILY: &[Part] = &[
    ("Иванов", "ivanov"),
    ("Смирнов", "smirnov"),
    ("Кузнецов", "kuznetsov"),
    ("Попов", "popov"),
    ("Соколов", "sokolov"),
    ("Лебедев", "lebedev"),
    ("Козлов", "kozlov"),
    ("Новиков", "novikov"),
    ("Морозов", "morozov"),
    ("Волков", "volkov"),
];
const RU_FEMALE: &[Part] = &[
    ("Анна", "anna"),
    ("Мария", "maria"),
    ("Елена", "elena"),
    ("Ольга", "olga"),
    ("Наталья", "natalya"),
    ("Екатерина", "ekaterina"),
    ("Дарья", "darya"),
    ("Ксения", "ksenia"),
];
const RU_MALE: &[Part] = &[
    ("Алексей", "aleksei"),
    ("Дмитрий", "dmitry"),
    ("Сергей", "sergei"),
    ("Андрей", "andrei"),
    ("Иван", "ivan"),
    ("Михаил", "mikhail"),
    ("Николай", "nikolai"),
    ("Павел", "pavel"),
];

const EN_FAMILY: &[Part] = &[
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Garcia", "garcia"),
    ("Miller", "miller"),
    ("Davis", "davis"),
    ("Martinez", "martinez"),
    ("Nguyen", "nguyen"),
    ("Wilson", "wilson"),
    ("Anderson", "anderson"),
    ("Kim", "kim"),
    ("Patel", "patel"),
    ("Brown", "brown"),
];
const EN_FEMALE: &[Part] = &[
    ("Emily", "emily"),
    ("Olivia", "olivia"),
    ("Sophia", "sophia"),
    ("Ava", "ava"),
    ("Jessica", "jessica"),
    ("Maria", "maria"),
    ("Hannah", "hannah"),
    ("Chloe", "chloe"),
];
const EN_MALE: &[Part] = &[
    ("James", "james"),
    ("Michael", "michael"),
    ("Daniel", "daniel"),
    ("Ethan", "ethan"),
    ("Noah", "noah"),
    ("David", "david"),
    ("Lucas", "lucas"),
    ("Ryan", "ryan"),
];

const DE_FAMILY: &[Part] = &[
    ("Müller", "mueller"),
    ("Schmidt", "schmidt"),
    ("Schneider", "schneider"),
    ("Fischer", "fischer"),
    ("Weber", "weber"),
    ("Meyer", "meyer"),
    ("Wagner", "wagner"),
    ("Becker", "becker"),
];
const DE_FEMALE: &[Part] = &[
    ("Anna", "anna"),
    ("Lena", "lena"),
    ("Julia", "julia"),
    ("Katrin", "katrin"),
    ("Sabine", "sabine"),
    ("Mia", "mia"),
];
const DE_MALE: &[Part] = &[
    ("Lukas", "lukas"),
    ("Jonas", "jonas"),
    ("Thomas", "thomas"),
    ("Stefan", "stefan"),
    ("Felix", "felix"),
    ("Jürgen", "juergen"),
];

const FR_FAMILY: &[Part] = &[
    ("Martin", "martin"),
    ("Bernard", "bernard"),
    ("Dubois", "dubois"),
    ("Thomas", "thomas"),
    ("Robert", "robert"),
    ("Petit", "petit"),
    ("Durand", "durand"),
    ("Lefèvre", "lefevre"),
];
const FR_FEMALE: &[Part] = &[
    ("Camille", "camille"),
    ("Léa", "lea"),
    ("Manon", "manon"),
    ("Chloé", "chloe"),
    ("Inès", "ines"),
    ("Sophie", "sophie"),
];
const FR_MALE: &[Part] = &[
    ("Lucas", "lucas"),
    ("Hugo", "hugo"),
    ("Louis", "louis"),
    ("Julien", "julien"),
    ("Mathieu", "mathieu"),
    ("Théo", "theo"),
];

const ES_FAMILY: &[Part] = &[
    ("García", "garcia"),
    ("Fernández", "fernandez"),
    ("González", "gonzalez"),
    ("Rodríguez", "rodriguez"),
    ("López", "lopez"),
    ("Martínez", "martinez"),
    ("Sánchez", "sanchez"),
    ("Pérez", "perez"),
];
const ES_FEMALE: &[Part] = &[
    ("Lucía", "lucia"),
    ("Sofía", "sofia"),
    ("Martina", "martina"),
    ("Carmen", "carmen"),
    ("Paula", "paula"),
    ("Elena", "elena"),
];
const ES_MALE: &[Part] = &[
    ("Hugo", "hugo"),
    ("Mateo", "mateo"),
    ("Pablo", "pablo"),
    ("Javier", "javier"),
    ("Álvaro", "alvaro"),
    ("Daniel", "daniel"),
];

/// The name style of a market, by its key (`zh-CN`, `zh-TW`, `ja`, `ru`, `en`,
/// `de`, `fr`, `es`); `None` for an unknown key.
pub fn name_style(key: &str) -> Option<NameStyle> {
    let style = |family, female, male, order| NameStyle {
        family,
        female,
        male,
        order,
        feminine_family: false,
    };
    Some(match key {
        "zh-CN" => style(ZH_FAMILY, ZH_FEMALE, ZH_MALE, NameOrder::FamilyFirstJoined),
        "zh-TW" => style(TW_FAMILY, TW_FEMALE, TW_MALE, NameOrder::FamilyFirstJoined),
        "ja" => style(JA_FAMILY, JA_FEMALE, JA_MALE, NameOrder::FamilyFirstSpaced),
        "ru" => NameStyle {
            feminine_family: true,
            ..style(RU_FAMILY, RU_FEMALE, RU_MALE, NameOrder::GivenFirst)
        },
        "en" => style(EN_FAMILY, EN_FEMALE, EN_MALE, NameOrder::GivenFirst),
        "de" => style(DE_FAMILY, DE_FEMALE, DE_MALE, NameOrder::GivenFirst),
        "fr" => style(FR_FAMILY, FR_FEMALE, FR_MALE, NameOrder::GivenFirst),
        "es" => style(ES_FAMILY, ES_FEMALE, ES_MALE, NameOrder::GivenFirst),
        _ => return None,
    })
}

impl NameStyle {
    /// The full name in its script, and a Latin `given.family` for e-mail addresses.
    pub fn full_name(&self, family: Part, given: Part, female: bool) -> (String, String) {
        let family_native = if self.feminine_family && female {
            feminine(family.0)
        } else {
            family.0.to_owned()
        };
        let family_latin = if self.feminine_family && female {
            format!("{}a", family.1)
        } else {
            family.1.to_owned()
        };
        let name = match self.order {
            NameOrder::FamilyFirstJoined => format!("{family_native}{}", given.0),
            NameOrder::FamilyFirstSpaced => format!("{family_native} {}", given.0),
            NameOrder::GivenFirst => format!("{} {family_native}", given.0),
        };
        (name, format!("{}.{family_latin}", given.1))
    }
}

/// Иванов → Иванова.
fn feminine(family: &str) -> String {
    format!("{family}а")
}

/// A mobile number in E.164 for `country` (ISO code or `US-XX`), from `digits`
/// (a random number); `None` for a country without a pattern here.
pub fn phone(country: &str, digits: u64) -> Option<String> {
    let d = |n: u32| digits % 10u64.pow(n);
    Some(match country {
        "JP" => format!("+81{}{:08}", [90, 80, 70][(digits % 3) as usize], d(8)),
        "CN" => format!("+861{}{:09}", [3, 5, 7, 8, 9][(digits % 5) as usize], d(9)),
        "TW" => format!("+8869{:08}", d(8)),
        "HK" => format!("+852{}{:07}", [5, 6, 9][(digits % 3) as usize], d(7)),
        "RU" => format!("+79{:09}", d(9)),
        "GB" => format!("+447700900{:03}", d(3)),
        "DE" => format!("+491{}{:08}", [51, 60, 70, 76][(digits % 4) as usize], d(8)),
        "FR" => format!("+33{}{:08}", [6, 7][(digits % 2) as usize], d(8)),
        "ES" => format!("+346{:08}", d(8)),
        "NL" => format!("+316{:08}", d(8)),
        "IE" => format!("+3538{}{:07}", [3, 5, 6, 7][(digits % 4) as usize], d(7)),
        "KR" => format!("+8210{:08}", d(8)),
        "AU" => format!("+614{:08}", d(8)),
        us if us.starts_with("US-") => {
            let area = us_area_code(us, digits)?;
            format!("+1{area}55501{:02}", d(2))
        }
        _ => return None,
    })
}

fn us_area_code(state: &str, digits: u64) -> Option<u32> {
    let codes: &[u32] = match state {
        "US-CA" => &[213, 310, 415, 408, 619, 916],
        "US-NY" => &[212, 718, 646, 917, 518],
        "US-TX" => &[214, 512, 713, 210],
        "US-WA" => &[206, 425, 509],
        "US-FL" => &[305, 407, 813],
        "US-IL" => &[312, 773],
        "US-MA" => &[617, 508],
        "US-CO" => &[303, 720],
        _ => return None,
    };
    Some(codes[(digits % codes.len() as u64) as usize])
}

/// A postal address in `country` (ISO code or `US-XX`) in the country's own order
/// and script, from `n` (a random number); `None` for a country without one here.
pub fn address(country: &str, n: u64) -> Option<String> {
    let pick = |items: &[&'static str]| items[(n % items.len() as u64) as usize];
    let num = 1 + n % 98;
    let unit = 101 + (n / 7) % 12 * 100 + (n / 3) % 9;
    Some(match country {
        "JP" => {
            let (zip, place) = pick_pair(
                &[
                    ("160-0023", "東京都新宿区西新宿"),
                    ("171-0022", "東京都豊島区南池袋"),
                    ("136-0071", "東京都江東区亀戸"),
                    ("556-0011", "大阪府大阪市浪速区難波中"),
                    ("231-0023", "神奈川県横浜市中区山下町"),
                    ("332-0012", "埼玉県川口市本町"),
                    ("460-0008", "愛知県名古屋市中区栄"),
                ],
                n,
            );
            format!(
                "〒{zip} {place}{}-{}-{} {}{unit}号室",
                1 + n % 4,
                1 + n % 20,
                num,
                pick(&["コーポ桜", "メゾン青葉", "ハイツ若葉", "グランドール"])
            )
        }
        "CN" => {
            let (zip, place) = pick_pair(
                &[
                    ("200120", "上海市浦东新区张江路"),
                    ("200040", "上海市静安区南京西路"),
                    ("100020", "北京市朝阳区建国路"),
                    ("518057", "广东省深圳市南山区科技园路"),
                    ("310012", "浙江省杭州市西湖区文三路"),
                    ("610041", "四川省成都市武侯区天府大道"),
                    ("315040", "浙江省宁波市鄞州区天童南路"),
                ],
                n,
            );
            format!("{place}{num}号{}栋{unit}室 邮编{zip}", 1 + n % 12)
        }
        "TW" => {
            let (zip, place) = pick_pair(
                &[
                    ("106", "臺北市大安區忠孝東路四段"),
                    ("110", "臺北市信義區松仁路"),
                    ("407", "臺中市西屯區台灣大道三段"),
                    ("806", "高雄市前鎮區中華五路"),
                ],
                n,
            );
            format!("{zip}{place}{num}號{}樓", 2 + n % 15)
        }
        "RU" => {
            let (zip, city, street) = pick_triple(
                &[
                    ("125009", "г. Москва", "ул. Тверская"),
                    ("190000", "г. Санкт-Петербург", "Невский пр-т"),
                    ("630099", "г. Новосибирск", "Красный пр-т"),
                    ("620014", "г. Екатеринбург", "ул. Малышева"),
                ],
                n,
            );
            format!(
                "{street}, д. {num}, кв. {}\n{city}, {zip}\nРоссия",
                1 + n % 180
            )
        }
        "GB" => format!(
            "{num} {} Road\n{}\n{}\nUnited Kingdom",
            pick(&["Station", "Victoria", "Church", "Park"]),
            pick(&["London", "Manchester", "Leeds", "Bristol"]),
            pick(&["SW1A 1AA", "M1 1AE", "LS1 4AP", "BS1 4DJ"])
        ),
        "DE" => format!(
            "{}straße {num}\n{}\nDeutschland",
            pick(&["Haupt", "Schiller", "Goethe", "Linden"]),
            pick(&[
                "10115 Berlin",
                "80331 München",
                "20095 Hamburg",
                "50667 Köln"
            ])
        ),
        "FR" => format!(
            "{num} rue {}\n{}\nFrance",
            pick(&["de la Paix", "Victor Hugo", "des Lilas", "Pasteur"]),
            pick(&[
                "75002 Paris",
                "69001 Lyon",
                "13001 Marseille",
                "31000 Toulouse"
            ])
        ),
        "ES" => format!(
            "Calle {} {num}, {}º\n{}\nEspaña",
            pick(&["Mayor", "de Alcalá", "Gran Vía", "del Sol"]),
            1 + n % 8,
            pick(&[
                "28013 Madrid",
                "08002 Barcelona",
                "46001 Valencia",
                "41001 Sevilla"
            ])
        ),
        "NL" => format!(
            "{} {num}\n{}\nNederland",
            pick(&["Keizersgracht", "Kerkstraat", "Dorpsstraat", "Stationsweg"]),
            pick(&["1015 CJ Amsterdam", "3011 AA Rotterdam", "3511 AB Utrecht"])
        ),
        "IE" => format!(
            "{num} {} Street\n{}\nIreland",
            pick(&["Main", "Church", "High", "O'Connell"]),
            pick(&["Dublin D02 X285", "Cork T12 K8AF", "Galway H91 E2K3"])
        ),
        us if us.starts_with("US-") => {
            let (city, zip) = us_city(us, n)?;
            format!(
                "{} {} {}\n{city}, {} {zip}",
                100 + n % 8900,
                pick(&["Oak", "Maple", "Cedar", "Pine", "Elm", "Market"]),
                pick(&["St", "Ave", "Blvd", "Dr"]),
                &us[3..]
            )
        }
        _ => return None,
    })
}

fn us_city(state: &str, n: u64) -> Option<(&'static str, &'static str)> {
    let cities: &[(&str, &str)] = match state {
        "US-CA" => &[
            ("San Francisco", "94103"),
            ("Los Angeles", "90012"),
            ("San Jose", "95112"),
            ("San Diego", "92101"),
        ],
        "US-NY" => &[
            ("New York", "10001"),
            ("Brooklyn", "11201"),
            ("Albany", "12207"),
        ],
        "US-TX" => &[
            ("Austin", "78701"),
            ("Houston", "77002"),
            ("Dallas", "75201"),
        ],
        "US-WA" => &[("Seattle", "98101"), ("Spokane", "99201")],
        "US-FL" => &[("Miami", "33130"), ("Orlando", "32801")],
        "US-IL" => &[("Chicago", "60601")],
        "US-MA" => &[("Boston", "02108")],
        "US-CO" => &[("Denver", "80202")],
        _ => return None,
    };
    Some(pick_pair(cities, n))
}

fn pick_pair<A: Copy, B: Copy>(items: &[(A, B)], n: u64) -> (A, B) {
    items[(n % items.len() as u64) as usize]
}

fn pick_triple<A: Copy, B: Copy, C: Copy>(items: &[(A, B, C)], n: u64) -> (A, B, C) {
    items[(n % items.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_e164_for_every_country_with_a_pattern() {
        for country in [
            "JP", "CN", "TW", "HK", "RU", "GB", "DE", "FR", "ES", "NL", "IE", "KR", "AU", "US-CA",
            "US-NY", "US-TX", "US-WA",
        ] {
            for digits in [0, 7, 123_456_789_012, u64::MAX] {
                let p = phone(country, digits).unwrap();
                let rest = p.strip_prefix('+').unwrap();
                assert!(
                    (8..=15).contains(&rest.len())
                        && rest.chars().all(|c| c.is_ascii_digit())
                        && !rest.starts_with('0'),
                    "{country}: {p}"
                );
            }
        }
        assert_eq!(phone("US-CA", 4).unwrap(), "+16195550104");
    }

    #[test]
    fn names_follow_each_markets_order_and_script() {
        let ru = name_style("ru").unwrap();
        let (name, latin) = ru.full_name(("Иванов", "ivanov"), ("Анна", "anna"), true);
        assert_eq!(
            (name.as_str(), latin.as_str()),
            ("Анна Иванова", "anna.ivanova")
        );
        let zh = name_style("zh-CN").unwrap();
        assert_eq!(zh.full_name(("王", "wang"), ("芳", "fang"), true).0, "王芳");
        let ja = name_style("ja").unwrap();
        assert_eq!(
            ja.full_name(("佐藤", "sato"), ("蓮", "ren"), false).0,
            "佐藤 蓮"
        );
        assert!(address("JP", 5).unwrap().starts_with('〒'));
        assert!(address("US-CA", 5).unwrap().contains(", CA "));
    }
}
