//! Golden checks for the translated notice sets (ja, zh-CN, zh-TW, ru): the greeting
//! and a heading of the e-mail, the guardian wording, the translated-notice line,
//! the HTML `lang`, and that SMS and push stay within their limits.

use super::tests::sample;
use super::*;

/// What one locale's e-mail and SMS must look like for the `sample()` context.
struct Golden {
    locale: &'static str,
    subject: &'static str,
    /// The e-mail text starts with this (greeting line, blank line, start of the intro).
    text_start: &'static str,
    /// The first item heading followed by the sample's summary.
    heading: &'static str,
    /// The e-mail text ends with this (organisation and reference).
    footer: &'static str,
    /// Guardian e-mail text: names the child and speaks of "your child".
    guardian_mentions: &'static [&'static str],
    /// Guardian e-mail subject: about the child.
    guardian_subject_mentions: &'static str,
    /// Guardian greeting when the guardian's name is unknown.
    guardian_greeting_without_name: &'static str,
    /// Start of the translated-notice line (text and HTML).
    translation_line: &'static str,
    /// A typical summary in the language, about 40 characters.
    sms_summary: &'static str,
    /// Push title limit in characters.
    push_title_max: usize,
}

const GOLDEN: &[Golden] = &[
    Golden {
        locale: "ja",
        subject: "【重要】個人情報の漏えい等に関するお詫びとお知らせ（JC-Task）",
        text_start: "Aiko Tanaka 様\n\nこのたび、JC-Taskにおいて、お客様の個人情報の漏えい等に関わる事案が発生いたしました。",
        heading: "【発生した事象】\nOn 1 March an attacker copied our customer database.\n",
        footer: "JC-Task\n管理番号：0193c0de",
        guardian_mentions: &["お子様（Hana Tanaka 様）の保護者様", "お子様を守るために"],
        guardian_subject_mentions: "お子様の個人情報",
        guardian_greeting_without_name: "保護者様\n\n",
        translation_line: "本通知は翻訳版です。内容に相違がある場合は、English版が優先されます。",
        sms_summary: "3月1日、第三者が当社の顧客データベースに不正アクセスし、情報を持ち出しました。",
        push_title_max: 30,
    },
    Golden {
        locale: "zh-CN",
        subject: "重要通知：JC-Task发生涉及您个人信息的安全事件",
        text_start: "尊敬的Aiko Tanaka：\n\nJC-Task发生了一起个人信息安全事件，涉及您的个人信息。",
        heading: "【事件概况】\nOn 1 March an attacker copied our customer database.\n",
        footer: "JC-Task\n事件编号：0193c0de",
        guardian_mentions: &["您是Hana Tanaka的家长或监护人", "保护您的孩子"],
        guardian_subject_mentions: "您孩子个人信息",
        guardian_greeting_without_name: "尊敬的家长/监护人：\n\n",
        translation_line: "本通知为翻译版本，如内容有不一致之处，以English版本为准。",
        sms_summary: "3月1日，攻击者非法访问了我们的客户数据库，并复制了部分用户的姓名和电子邮箱。",
        push_title_max: 30,
    },
    Golden {
        locale: "zh-TW",
        subject: "重要通知：JC-Task發生涉及您個人資料的資安事件",
        text_start: "親愛的Aiko Tanaka 您好：\n\nJC-Task發生一起資安事件，涉及您的個人資料。",
        heading: "【事件說明】\nOn 1 March an attacker copied our customer database.\n",
        footer: "JC-Task\n事件編號：0193c0de",
        guardian_mentions: &["您是Hana Tanaka的家長或監護人", "保護您的孩子"],
        guardian_subject_mentions: "您孩子個人資料",
        guardian_greeting_without_name: "親愛的家長/監護人 您好：\n\n",
        translation_line: "本通知為翻譯版本，內容如有歧異，以English版本為準。",
        sms_summary: "3月1日，攻擊者非法存取本公司的客戶資料庫，並複製了部分使用者的姓名與聯絡資料。",
        push_title_max: 30,
    },
    Golden {
        locale: "ru",
        subject: "Важно: инцидент безопасности в JC-Task затронул ваши персональные данные",
        text_start: "Здравствуйте, Aiko Tanaka!\n\nСообщаем вам, что в JC-Task произошёл инцидент безопасности",
        heading: "ЧТО ПРОИЗОШЛО\nOn 1 March an attacker copied our customer database.\n",
        footer: "JC-Task\nНомер инцидента: 0193c0de",
        guardian_mentions: &[
            "законному представителю ребёнка (Hana Tanaka)",
            "персональные данные вашего ребёнка",
        ],
        guardian_subject_mentions: "вашего ребёнка",
        guardian_greeting_without_name: "Уважаемые родители (законные представители)!\n\n",
        translation_line: "Это уведомление — перевод. При расхождениях преимущественную силу имеет версия на языке оригинала (English)",
        sms_summary: "1 марта хакеры скопировали базу клиентов.",
        push_title_max: 45,
    },
];

fn templates() -> Templates {
    Templates::embedded().unwrap()
}

fn golden(locale: &str) -> &'static Golden {
    GOLDEN.iter().find(|g| g.locale == locale).unwrap()
}

fn check_email(t: &Templates, g: &Golden) {
    let out = t
        .render(
            g.locale,
            Channel::Email,
            Audience::Subject,
            &sample(Audience::Subject),
        )
        .unwrap();
    assert_eq!(out.subject.as_deref(), Some(g.subject), "{}", g.locale);
    let text = out.text.unwrap();
    assert!(text.starts_with(g.text_start), "{}:\n{text}", g.locale);
    assert!(text.contains(g.heading), "{}:\n{text}", g.locale);
    assert!(text.ends_with(g.footer), "{}:\n{text}", g.locale);
}

fn check_guardian_email(t: &Templates, g: &Golden) {
    let mut ctx = sample(Audience::Guardian);
    let out = t
        .render(g.locale, Channel::Email, Audience::Guardian, &ctx)
        .unwrap();
    let text = out.text.unwrap();
    for phrase in g.guardian_mentions {
        assert!(
            text.contains(phrase),
            "{}: missing {phrase:?}\n{text}",
            g.locale
        );
    }
    let subject = out.subject.unwrap();
    assert!(
        subject.contains(g.guardian_subject_mentions),
        "{}: {subject}",
        g.locale
    );

    ctx.recipient_name = None;
    let text = t
        .render(g.locale, Channel::Email, Audience::Guardian, &ctx)
        .unwrap()
        .text
        .unwrap();
    assert!(
        text.starts_with(g.guardian_greeting_without_name),
        "{}:\n{text}",
        g.locale
    );
}

fn check_sms_and_push(t: &Templates, g: &Golden) {
    let summary_len = g.sms_summary.chars().count();
    assert!(
        (38..=42).contains(&summary_len),
        "{}: sample summary is {summary_len} characters",
        g.locale
    );
    for audience in [Audience::Subject, Audience::Guardian] {
        let mut ctx = sample(audience);
        ctx.summary = g.sms_summary.into();
        let text = t
            .render(g.locale, Channel::Sms, audience, &ctx)
            .unwrap()
            .text
            .unwrap();
        assert!(text.contains(g.sms_summary), "{}: {text}", g.locale);
        assert!(
            text.ends_with("https://notice.example/n/abc"),
            "{}: {text}",
            g.locale
        );
        let segments = sms::segments(&text);
        assert_eq!(segments.encoding, "UCS-2", "{}: {text}", g.locale);
        assert!(
            segments.count <= 3,
            "{} {audience:?}: {segments:?}\n{text}",
            g.locale
        );

        // The template's own words leave room for the summary and the link.
        ctx.organisation = String::new();
        ctx.summary = String::new();
        ctx.notice_url = Some(String::new());
        let fixed = t
            .render(g.locale, Channel::Sms, audience, &ctx)
            .unwrap()
            .text
            .unwrap();
        let fixed_len = fixed.chars().count();
        assert!(
            fixed_len <= 60,
            "{} {audience:?}: SMS fixed text has {fixed_len} characters: {fixed}",
            g.locale
        );

        let title = t
            .render(g.locale, Channel::Push, audience, &ctx)
            .unwrap()
            .subject
            .unwrap();
        let len = title.chars().count();
        assert!(
            len <= g.push_title_max,
            "{} {audience:?}: push title has {len} characters: {title}",
            g.locale
        );
    }
}

fn check_translation_line_and_lang(t: &Templates, g: &Golden) {
    let mut ctx = sample(Audience::Subject);
    ctx.authoritative = Some(Authoritative {
        locale: "en".into(),
        language_name: "English".into(),
        url: Some("https://example.com/notice/en".into()),
    });
    let email = t
        .render(g.locale, Channel::Email, Audience::Subject, &ctx)
        .unwrap();
    let text = email.text.unwrap();
    assert!(text.contains(g.translation_line), "{}:\n{text}", g.locale);
    assert!(
        text.contains("https://example.com/notice/en"),
        "{}:\n{text}",
        g.locale
    );
    let html = email.html.unwrap();
    assert!(html.contains(g.translation_line), "{}:\n{html}", g.locale);

    let lang = format!("<html lang=\"{}\">", g.locale);
    for audience in [Audience::Subject, Audience::Guardian] {
        let ctx = sample(audience);
        let email = t
            .render(g.locale, Channel::Email, audience, &ctx)
            .unwrap()
            .html
            .unwrap();
        let letter = t
            .render(g.locale, Channel::Letter, audience, &ctx)
            .unwrap()
            .html
            .unwrap();
        let page = t.render_page(g.locale, audience, &ctx).unwrap();
        for html in [email, letter, page] {
            assert!(html.contains(&lang), "{} {audience:?}: {html}", g.locale);
        }
    }
}

fn check_locale(locale: &str) {
    let t = templates();
    let g = golden(locale);
    check_email(&t, g);
    check_guardian_email(&t, g);
    check_sms_and_push(&t, g);
    check_translation_line_and_lang(&t, g);
}

#[test]
fn japanese_golden() {
    check_locale("ja");
}

#[test]
fn simplified_chinese_golden() {
    check_locale("zh-CN");
}

#[test]
fn traditional_chinese_golden() {
    check_locale("zh-TW");
}

#[test]
fn russian_golden() {
    check_locale("ru");
}

#[test]
fn language_names_are_in_the_language_itself() {
    let t = templates();
    let names: Vec<_> = ["ja", "zh-CN", "zh-TW", "ru"]
        .iter()
        .map(|l| t.language_name(l).unwrap())
        .collect();
    assert_eq!(names, ["日本語", "简体中文", "繁體中文", "Русский"]);
}
