//! The demo province: a fictional province (labelled as demo everywhere) with about 20
//! departments, 15 districts and a few communes, and an account for every role whose
//! password is generated at start and printed once.

use parindex_domain::{GroupCode, Role, RoleGrant, UnitCode, UnitDraft, UnitName, Username};
use parindex_store::users::NewUser;
use parindex_store::{AuditActor, Store};
use time::macros::date;

pub const PROVINCE_NAME: &str = "Tỉnh Sông Lam (DỮ LIỆU MẪU)";

const DEPARTMENTS: &[(&str, &str)] = &[
    ("SNV", "Sở Nội vụ"),
    ("STP", "Sở Tư pháp"),
    ("STC", "Sở Tài chính"),
    ("SKHDT", "Sở Kế hoạch và Đầu tư"),
    ("SCT", "Sở Công Thương"),
    ("SNNMT", "Sở Nông nghiệp và Môi trường"),
    ("SXD", "Sở Xây dựng"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SYT", "Sở Y tế"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("SDTTG", "Sở Dân tộc và Tôn giáo"),
    ("SNGV", "Sở Ngoại vụ"),
    ("TTT", "Thanh tra tỉnh"),
    ("VPUBND", "Văn phòng Ủy ban nhân dân tỉnh"),
    ("BQLKKT", "Ban Quản lý các khu công nghiệp tỉnh"),
    ("STNMT", "Sở Tài nguyên và Môi trường"),
    ("SGTVT", "Sở Giao thông vận tải"),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội"),
    ("STTTT", "Sở Thông tin và Truyền thông"),
];

const DISTRICTS: &[(&str, &str)] = &[
    ("TP-SONGLAM", "Thành phố Sông Lam"),
    ("TX-BENDA", "Thị xã Bến Đá"),
    ("TX-HOAAN", "Thị xã Hòa An"),
    ("H-EAXANH", "Huyện Ea Xanh"),
    ("H-KRONGLAM", "Huyện Krông Lam"),
    ("H-CUMOT", "Huyện Cư Một"),
    ("H-DAKNGUYEN", "Huyện Đắk Nguyên"),
    ("H-LAKTHUONG", "Huyện Lắk Thượng"),
    ("H-BUONHAI", "Huyện Buôn Hai"),
    ("H-EAHOA", "Huyện Ea Hòa"),
    ("H-MDRANG", "Huyện M'Đrang Mới"),
    ("H-CUKUIN", "Huyện Cư Kuin Nam"),
    ("H-KRONGBONG", "Huyện Krông Bông Tây"),
    ("H-SONGHINH", "Huyện Sông Hinh Thượng"),
    ("H-PHUOCSON", "Huyện Phước Sơn Đông"),
];

/// The 2025 mergers: (old department, successor).
const MERGED: &[(&str, &str)] = &[
    ("SKHDT", "STC"),
    ("STNMT", "SNNMT"),
    ("SGTVT", "SXD"),
    ("SLDTBXH", "SNV"),
    ("STTTT", "SKHCN"),
];

const COMMUNES: &[(&str, &str, &str)] = &[
    ("X-EAXANH-1", "Xã Ea Xanh", "H-EAXANH"),
    ("X-EAXANH-2", "Xã Cư Ni", "H-EAXANH"),
    ("P-SONGLAM-1", "Phường Tân Lập", "TP-SONGLAM"),
    ("P-SONGLAM-2", "Phường Thành Công", "TP-SONGLAM"),
];

/// A demo account and its password, printed once.
pub struct DemoAccount {
    pub username: &'static str,
    pub role: Role,
    pub unit: Option<&'static str>,
    pub password: String,
}

fn unit(code: &str, name: &str, group_id: i64) -> Result<UnitDraft, String> {
    Ok(UnitDraft {
        code: UnitCode::parse(code).map_err(|e| e.message)?,
        name_vi: UnitName::parse(name).map_err(|e| e.message)?,
        name_en: None,
        group_id,
        parent_id: None,
        valid_from: date!(2021 - 01 - 01),
        valid_to: None,
        successor_id: None,
    })
}

/// Fills a fresh database with the demo province.
pub async fn seed(store: &Store) -> Result<Vec<DemoAccount>, String> {
    let err = |e: parindex_store::StoreError| e.to_string();
    let mut tx = store
        .begin_write(AuditActor::system("demo"))
        .await
        .map_err(err)?;
    let so = tx
        .create_group(
            &GroupCode::parse("SO").map_err(|e| e.message)?,
            "Sở, ban, ngành (cấp sở)",
            Some("Departments"),
            1,
        )
        .await
        .map_err(err)?;
    let huyen = tx
        .create_group(
            &GroupCode::parse("HUYEN").map_err(|e| e.message)?,
            "UBND huyện, thị xã, thành phố",
            Some("Districts"),
            2,
        )
        .await
        .map_err(err)?;
    let xa = tx
        .create_group(
            &GroupCode::parse("XA").map_err(|e| e.message)?,
            "UBND xã, phường, thị trấn",
            Some("Communes"),
            3,
        )
        .await
        .map_err(err)?;
    let mut ids = std::collections::HashMap::new();
    for (code, name) in DEPARTMENTS {
        let created = tx
            .create_unit(&unit(code, name, so.id)?)
            .await
            .map_err(err)?;
        ids.insert(*code, created);
    }
    for (code, name) in DISTRICTS {
        let created = tx
            .create_unit(&unit(code, name, huyen.id)?)
            .await
            .map_err(err)?;
        ids.insert(*code, created);
    }
    for (code, name, parent) in COMMUNES {
        let mut draft = unit(code, name, xa.id)?;
        draft.parent_id = ids.get(parent).map(|u| u.id);
        let created = tx.create_unit(&draft).await.map_err(err)?;
        ids.insert(*code, created);
    }
    // The 2025 mergers, as data: three departments end on 28/02/2025 and name their successor.
    for (old, successor) in MERGED.iter().copied() {
        let (Some(old_unit), Some(new_unit)) = (ids.get(old), ids.get(successor)) else {
            continue;
        };
        let mut draft = unit(&old_unit.code, &old_unit.name_vi, so.id)?;
        draft.valid_to = Some(date!(2025 - 02 - 28));
        draft.successor_id = Some(new_unit.id);
        tx.update_unit(old_unit.id, old_unit.version, &draft)
            .await
            .map_err(err)?;
        let updated_version = old_unit.version + 1;
        tx.set_unit_active(old_unit.id, updated_version, false)
            .await
            .map_err(err)?;
    }

    let plan: &[(&str, &str, Role, Option<&str>)] = &[
        ("admin", "Quản trị hệ thống (demo)", Role::SystemAdmin, None),
        (
            "thuky",
            "Nguyễn Thị Thư (Sở Nội vụ, demo)",
            Role::Secretariat,
            None,
        ),
        (
            "canbo.stp",
            "Trần Văn Minh (Sở Tư pháp, demo)",
            Role::UnitOfficer,
            Some("STP"),
        ),
        (
            "truong.stp",
            "Lê Thị Hoa (Giám đốc Sở Tư pháp, demo)",
            Role::UnitHead,
            Some("STP"),
        ),
        (
            "canbo.eaxanh",
            "H'Linh Niê (UBND huyện Ea Xanh, demo)",
            Role::UnitOfficer,
            Some("H-EAXANH"),
        ),
        (
            "thamdinh.stc",
            "Phạm Quốc Bảo (Sở Tài chính, demo)",
            Role::Appraiser,
            Some("STC"),
        ),
        (
            "hoidong",
            "Võ Thanh Sơn (Hội đồng thẩm định, demo)",
            Role::CouncilMember,
            None,
        ),
        (
            "cungcap.stp",
            "Đỗ Mai Anh (cung cấp số liệu, Sở Tư pháp, demo)",
            Role::ExternalProvider,
            Some("STP"),
        ),
        (
            "khaosat",
            "Bùi Văn Tâm (điều tra XHH, demo)",
            Role::SurveyOperator,
            None,
        ),
        (
            "lanhdao",
            "Lãnh đạo UBND tỉnh (chỉ xem, demo)",
            Role::Viewer,
            None,
        ),
    ];
    let mut accounts = Vec::new();
    let mut appraiser_id = None;
    for (username, full_name, role, unit_code) in plan {
        let password = parindex_app::password::generate_password();
        let hash = parindex_app::password::hash(password.clone())
            .await
            .map_err(|e| e.to_string())?;
        let user = tx
            .create_user(&NewUser {
                username: Username::parse(username).map_err(|e| e.message)?,
                full_name: (*full_name).to_owned(),
                email: None,
                password_hash: hash,
                must_change_password: false,
            })
            .await
            .map_err(err)?;
        let unit_id = unit_code.and_then(|c| ids.get(c)).map(|u| u.id);
        tx.grant_role(
            user.id,
            &RoleGrant {
                role: *role,
                unit_id,
            },
        )
        .await
        .map_err(err)?;
        if *role == Role::Appraiser {
            appraiser_id = Some(user.id);
        }
        accounts.push(DemoAccount {
            username,
            role: *role,
            unit: *unit_code,
            password,
        });
    }
    // The shipped illustrative index sets, published, so every page has something to show;
    // and a period open for self-assessment from yesterday for 30 days, with both sets.
    let mut period_sets = Vec::new();
    let mut survey_leaves_so = Vec::new();
    for (name, yaml) in parindex_app::shipped::SHIPPED_INDEX_SETS {
        let doc = parindex_formats::parse_index_set_file(yaml.as_bytes())
            .map_err(|e| format!("{name}: {e}"))?;
        let set =
            parindex_domain::IndexSet::from_doc(&doc, None).map_err(|r| format!("{name}: {r}"))?;
        let content = parindex_store::index_sets::IndexSetContent {
            code: doc.code.clone(),
            year: i64::from(doc.year),
            unit_group: doc.unit_group.clone(),
            title: doc.title.clone(),
            illustrative: doc.illustrative,
            definition: serde_json::to_string(&doc).map_err(|e| e.to_string())?,
            node_count: set.nodes().len() as i64,
        };
        let stored = tx.create_index_set(&content, None).await.map_err(err)?;
        tx.publish_index_set(stored.id, stored.version)
            .await
            .map_err(err)?;
        if doc.unit_group == "SO" {
            survey_leaves_so = set
                .leaves()
                .filter(|l| matches!(l.rule, Some(parindex_domain::rules::RuleSpec::Survey)))
                .map(|l| (l.code.clone(), l.title.clone()))
                .collect();
        }
        period_sets.push((doc.unit_group.clone(), stored.id));
    }
    let now = parindex_store::now_ms();
    let day = 86_400_000;
    // Departments merged away in 2025 no longer take part.
    let participants: Vec<i64> = ids
        .iter()
        .filter(|(code, _)| !MERGED.iter().any(|(old, _)| old == *code))
        .filter(|(_, u)| u.group_id == so.id || u.group_id == huyen.id)
        .map(|(_, u)| u.id)
        .collect();
    let settings = parindex_store::periods::PeriodSettings {
        year: 2026,
        name: "Đánh giá Chỉ số CCHC năm 2026 (DEMO)".into(),
        self_open_at: now - day,
        self_close_at: now + 30 * day,
        explanation_due_at: Some(now + 45 * day),
        appraisal_open_at: None,
        appraisal_close_at: None,
        bonus_cap_milli: 2000,
        penalty_cap_milli: 2000,
        band_good_milli: 85_000,
        band_fair_milli: 70_000,
        band_average_milli: 50_000,
        appraisal_rounds: 2,
    };
    let period = tx
        .create_period(&settings, &period_sets, &participants)
        .await
        .map_err(err)?;
    // The demo appraiser (from the Finance department) appraises every domain of every unit
    // but their own: the Finance department's own sheet stays unassigned, as the
    // conflict-of-interest rule requires, for the secretariat to give to someone else.
    if let Some(appraiser_id) = appraiser_id {
        let stc = ids.get("STC").map(|u| u.id);
        let domains: Vec<String> = (1..=8).map(|d| d.to_string()).collect();
        let rows: Vec<(i64, i64, String)> = participants
            .iter()
            .filter(|id| Some(**id) != stc)
            .flat_map(|unit_id| {
                domains
                    .iter()
                    .map(move |d| (appraiser_id, *unit_id, d.clone()))
            })
            .collect();
        tx.add_assignments(period.id, &rows).await.map_err(err)?;
    }
    let surveyed: Vec<i64> = ["STP", "SNV"]
        .iter()
        .filter_map(|c| ids.get(*c).map(|u| u.id))
        .collect();
    seed_survey(&mut tx, period.id, now, &survey_leaves_so, &surveyed).await?;
    tx.commit().await.map_err(err)?;
    Ok(accounts)
}

/// The demo survey: open for the period's first month, two respondent groups (weighted), and
/// an open questionnaire for citizens and businesses with one question per survey leaf of the
/// departments' set, about the Justice and Home Affairs departments. It carries
/// [`DEMO_RESPONSES`] generated responses (labelled as demo in their source key), so the
/// survey scores, report and quality pages have something to show.
async fn seed_survey(
    tx: &mut parindex_store::WriteTx,
    period_id: i64,
    now: i64,
    survey_leaves: &[(String, String)],
    units: &[i64],
) -> Result<(), String> {
    use parindex_domain::survey::{AnswerOption, Question, QuestionnaireDoc, ResponseAnswers};
    let err = |e: parindex_store::StoreError| e.to_string();
    let day = 86_400_000;
    tx.save_survey_settings(period_id, Some(now - day), Some(now + 30 * day), 30, true)
        .await
        .map_err(err)?;
    tx.save_survey_group(
        period_id,
        "LDSO",
        "Lãnh đạo các sở, ban, ngành",
        1000,
        400,
        30,
    )
    .await
    .map_err(err)?;
    let group = tx
        .save_survey_group(
            period_id,
            "NDDN",
            "Người dân, doanh nghiệp",
            2000,
            100_000,
            100,
        )
        .await
        .map_err(err)?;
    let option = |code: &str, label: &str, percent: Option<i64>| AnswerOption {
        code: code.to_owned(),
        label: label.to_owned(),
        percent: percent.map(rust_decimal::Decimal::from),
    };
    let doc = QuestionnaireDoc {
        questions: survey_leaves
            .iter()
            .enumerate()
            .map(|(i, (code, title))| Question {
                code: format!("Q{}", i + 1),
                text: format!("Ông/bà đánh giá thế nào về: {}?", title.to_lowercase()),
                leaf_code: code.clone(),
                options: vec![
                    option("A", "Rất hài lòng", Some(100)),
                    option("B", "Hài lòng", Some(60)),
                    option("C", "Chưa hài lòng", Some(20)),
                    option("D", "Không hài lòng", Some(0)),
                    option("K", "Không biết", None),
                ],
            })
            .collect(),
    };
    let definition = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
    let qid = tx
        .create_questionnaire(
            period_id,
            group,
            "Phiếu khảo sát người dân, doanh nghiệp (DỮ LIỆU MẪU)",
            &definition,
            units,
        )
        .await
        .map_err(err)?;
    tx.set_questionnaire_status(qid, "draft", "open")
        .await
        .map_err(err)?;
    // Deterministic answers: a simple linear congruential sequence, skewed towards A and B.
    let mut state: u64 = 2026;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % 100
    };
    let responses: Vec<parindex_store::survey::NewResponse> = (0..DEMO_RESPONSES)
        .map(|n| {
            let mut answers = std::collections::BTreeMap::new();
            for unit in units {
                let per_unit = doc
                    .questions
                    .iter()
                    .map(|q| {
                        let code = match next() {
                            0..=34 => "A",
                            35..=74 => "B",
                            75..=86 => "C",
                            87..=93 => "D",
                            _ => "K",
                        };
                        (q.code.clone(), code.to_owned())
                    })
                    .collect();
                answers.insert(*unit, per_unit);
            }
            parindex_store::survey::NewResponse {
                channel: "import",
                source_key: Some(format!("demo:{n}")),
                paper_ref: None,
                entry_no: 1,
                answers: ResponseAnswers(answers).encode(),
                submitted_at: now - day + i64::from(n) * 60_000,
            }
        })
        .collect();
    tx.add_survey_responses(qid, &responses, serde_json::json!({ "demo": true }))
        .await
        .map_err(err)?;
    Ok(())
}

/// How many generated responses the demo questionnaire carries.
const DEMO_RESPONSES: u32 = 60;

pub fn print_accounts(accounts: &[DemoAccount], bind: std::net::SocketAddr) {
    println!("\n=== parindex DEMO — {PROVINCE_NAME} ===");
    println!(
        "Dữ liệu mẫu, tỉnh giả định. Mật khẩu chỉ in một lần, tạo mới mỗi lần khởi động demo."
    );
    println!(
        "Demo data, fictional province. Passwords are printed once and change at every demo start.\n"
    );
    println!("{:<14} {:<21} {:<28} unit", "username", "password", "role");
    for a in accounts {
        println!(
            "{:<14} {:<21} {:<28} {}",
            a.username,
            a.password,
            a.role.label_vi(),
            a.unit.unwrap_or("-")
        );
    }
    println!("\nOpen http://{bind}/ and log in.\n");
}
