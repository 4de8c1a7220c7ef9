//! Store tests: every test runs on SQLite and, when PARINDEX_TEST_DATABASE_URL is set, on
//! PostgreSQL (required under CI=true).

use parindex_domain::{GroupCode, Role, RoleGrant, UnitCode, UnitDraft, UnitName, Username};
use parindex_store::units::UnitFilter;
use parindex_store::users::NewUser;
use parindex_store::{
    AuditActor, AuditFilter, Backend, ChainReport, Store, StoreError, both_backends,
};
use time::macros::date;

fn actor() -> AuditActor {
    AuditActor {
        user_id: None,
        username: "tester".into(),
        role: Role::Secretariat.into(),
    }
}

async fn seed_group(store: &Store, code: &str) -> i64 {
    let mut tx = store.begin_write(actor()).await.unwrap();
    let g = tx
        .create_group(&GroupCode::parse(code).unwrap(), "Sở, ban, ngành", None, 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    g.id
}

fn draft(code: &str, name: &str, group_id: i64) -> UnitDraft {
    UnitDraft {
        code: UnitCode::parse(code).unwrap(),
        name_vi: UnitName::parse(name).unwrap(),
        name_en: None,
        group_id,
        parent_id: None,
        valid_from: date!(2021 - 01 - 01),
        valid_to: None,
        successor_id: None,
    }
}

async fn audit_count(store: &Store) -> usize {
    store
        .audit_list(&AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

both_backends!(
    migrations_are_idempotent_and_sqlite_is_wal,
    |store: Store| async move {
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        if store.backend() == Backend::Sqlite {
            assert_eq!(store.sqlite_pragma("journal_mode").await.unwrap(), "wal");
            assert_eq!(store.sqlite_pragma("foreign_keys").await.unwrap(), "1");
        }
        assert!(store.ping().await);
    }
);

both_backends!(
    units_crud_with_search_and_versions,
    |store: Store| async move {
        let g = seed_group(&store, "SO").await;
        let mut tx = store.begin_write(actor()).await.unwrap();
        let stp = tx
            .create_unit(&draft("STP", "Sở Tư pháp", g))
            .await
            .unwrap();
        let snv = tx.create_unit(&draft("SNV", "Sở Nội vụ", g)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(stp.version, 1);
        assert_eq!(stp.valid_from, "2021-01-01");

        // "tu phap" finds "Tư pháp"; "đ" folds to "d".
        let found = store
            .list_units(&UnitFilter {
                search: Some("tu phap".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(),
            ["STP"]
        );
        // LIKE wildcards typed by a user are literal, not patterns.
        let none = store
            .list_units(&UnitFilter {
                search: Some("%".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(none.is_empty());

        // A duplicate code is a field error, and nothing is written.
        let before = audit_count(&store).await;
        let mut tx = store.begin_write(actor()).await.unwrap();
        let err = tx
            .create_unit(&draft("stp", "Trùng mã", g))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Duplicate { field: "code", .. }),
            "{err:?}"
        );
        drop(tx);
        assert_eq!(audit_count(&store).await, before);

        // Optimistic versioning: the second writer with the old version is refused.
        let mut edited = draft("STP", "Sở Tư pháp tỉnh", g);
        edited.successor_id = Some(snv.id);
        let mut tx = store.begin_write(actor()).await.unwrap();
        let updated = tx.update_unit(stp.id, 1, &edited).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(updated.version, 2);
        let mut tx = store.begin_write(actor()).await.unwrap();
        assert!(matches!(
            tx.update_unit(stp.id, 1, &edited).await,
            Err(StoreError::Stale)
        ));
        drop(tx);

        // A unit cannot succeed itself; deactivation hides it from the default list.
        let mut self_ref = edited.clone();
        self_ref.successor_id = Some(stp.id);
        let mut tx = store.begin_write(actor()).await.unwrap();
        assert!(matches!(
            tx.update_unit(stp.id, 2, &self_ref).await,
            Err(StoreError::Invalid(_))
        ));
        tx.set_unit_active(stp.id, 2, false).await.unwrap();
        tx.commit().await.unwrap();
        let active = store.list_units(&UnitFilter::default()).await.unwrap();
        assert_eq!(active.len(), 1);
        let all = store
            .list_units(&UnitFilter {
                include_inactive: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
    }
);

both_backends!(
    a_mutation_writes_exactly_one_audit_record,
    |store: Store| async move {
        let g = seed_group(&store, "HUYEN").await;
        let before = audit_count(&store).await;
        let mut tx = store.begin_write(actor()).await.unwrap();
        let unit = tx
            .create_unit(&draft("H-EAKAR", "Huyện Ea Kar", g))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let entries = store
            .audit_list(&AuditFilter {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(entries.len(), before + 1);
        let newest = &entries[0];
        assert_eq!(newest.action, "unit.create");
        assert_eq!(newest.object_id, unit.id.to_string());
        assert_eq!(newest.actor_username, "tester");
        assert_eq!(newest.actor_role, Role::Secretariat.into());
        assert!(newest.before_json.is_none());
        assert!(
            newest
                .after_json
                .as_deref()
                .unwrap()
                .contains("Huyện Ea Kar")
        );
        assert_eq!(
            store.audit_verify().await.unwrap(),
            ChainReport::Intact {
                records: (before + 1) as i64
            }
        );
    }
);

both_backends!(
    a_transaction_without_audit_cannot_commit,
    |store: Store| async move {
        let tx = store.begin_write(actor()).await.unwrap();
        assert!(matches!(tx.commit().await, Err(StoreError::MissingAudit)));
    }
);

both_backends!(tampering_is_detected, |store: Store| async move {
    let g = seed_group(&store, "SO").await;
    for code in ["AA", "BB", "CC"] {
        let mut tx = store.begin_write(actor()).await.unwrap();
        tx.create_unit(&draft(code, "Đơn vị thử", g)).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(
        store.audit_verify().await.unwrap(),
        ChainReport::Intact { records: 4 }
    );
    // The application cannot rewrite history: the triggers refuse.
    assert!(
        sqlx::query("UPDATE audit_log SET actor_username = 'x' WHERE seq = 2")
            .execute(store.raw_pool_for_tests())
            .await
            .is_err()
    );
    // Someone with raw access drops the guard and edits a record: verify names that record.
    let drop_guard = match store.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    sqlx::query(drop_guard)
        .execute(store.raw_pool_for_tests())
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor_username = 'ke-gian' WHERE seq = 3")
        .execute(store.raw_pool_for_tests())
        .await
        .unwrap();
    match store.audit_verify().await.unwrap() {
        ChainReport::Broken { seq, .. } => assert_eq!(seq, 3),
        other => panic!("expected a broken chain, got {other:?}"),
    }
});

both_backends!(deleting_a_record_is_detected, |store: Store| async move {
    let g = seed_group(&store, "SO").await;
    let mut tx = store.begin_write(actor()).await.unwrap();
    tx.create_unit(&draft("AA", "Đơn vị thử", g)).await.unwrap();
    tx.commit().await.unwrap();
    let drop_guard = match store.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_delete",
        Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    sqlx::query(drop_guard)
        .execute(store.raw_pool_for_tests())
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(store.raw_pool_for_tests())
        .await
        .unwrap();
    assert!(matches!(
        store.audit_verify().await.unwrap(),
        ChainReport::Broken { seq: 2, .. }
    ));
});

both_backends!(
    concurrent_writers_keep_one_chain,
    |store: Store| async move {
        let g = seed_group(&store, "SO").await;
        let mut handles = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut tx = store.begin_write(actor()).await.unwrap();
                tx.create_unit(&draft(&format!("U{i:02}"), "Đơn vị song song", g))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(
            store.audit_verify().await.unwrap(),
            ChainReport::Intact { records: 21 }
        );
    }
);

both_backends!(
    users_grants_sessions_and_throttle,
    |store: Store| async move {
        let g = seed_group(&store, "SO").await;
        let mut tx = store.begin_write(actor()).await.unwrap();
        let unit = tx
            .create_unit(&draft("STP", "Sở Tư pháp", g))
            .await
            .unwrap();
        let user = tx
            .create_user(&NewUser {
                username: Username::parse("canbo").unwrap(),
                full_name: "Nguyễn Văn A".into(),
                email: None,
                password_hash: "$argon2id$fake".into(),
                must_change_password: false,
            })
            .await
            .unwrap();
        let grant_id = tx
            .grant_role(
                user.id,
                &RoleGrant {
                    role: Role::UnitOfficer,
                    unit_id: Some(unit.id),
                },
            )
            .await
            .unwrap();
        // The same grant twice, a unit role without a unit, a missing unit: all refused.
        assert!(
            tx.grant_role(
                user.id,
                &RoleGrant {
                    role: Role::UnitOfficer,
                    unit_id: Some(unit.id)
                }
            )
            .await
            .is_err()
        );
        assert!(
            tx.grant_role(
                user.id,
                &RoleGrant {
                    role: Role::UnitHead,
                    unit_id: None
                }
            )
            .await
            .is_err()
        );
        assert!(
            tx.grant_role(
                user.id,
                &RoleGrant {
                    role: Role::UnitHead,
                    unit_id: Some(9999)
                }
            )
            .await
            .is_err()
        );
        tx.commit().await.unwrap();

        let grants = store.user_grants(user.id).await.unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].unit_code.as_deref(), Some("STP"));

        let mut tx = store.begin_write(actor()).await.unwrap();
        for token in ["a1", "b2"] {
            tx.create_session(&parindex_store::sessions::SessionRecord {
                token_hash: format!("{token}-hash-0123456789"),
                user_id: user.id,
                csrf_token: "csrf".into(),
                active_role_id: Some(grant_id),
                locale: "vi".into(),
                ip: Some("127.0.0.1".into()),
                user_agent: None,
                created_at: 1,
                last_seen_at: 1,
            })
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(store.user_sessions(user.id).await.unwrap().len(), 2);
        let mut tx = store.begin_write(actor()).await.unwrap();
        assert_eq!(tx.delete_all_sessions(user.id).await.unwrap(), 2);
        tx.commit().await.unwrap();
        assert!(
            store
                .get_session("a1-hash-0123456789")
                .await
                .unwrap()
                .is_none()
        );

        let keys = vec!["user:canbo".to_string(), "ip:10.0.0.1".to_string()];
        store.record_login_failure(&keys, 1000).await.unwrap();
        store.record_login_failure(&keys, 2000).await.unwrap();
        assert_eq!(
            store
                .login_failures_since("user:canbo", 1500)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store.login_failures_since("ip:10.0.0.1", 0).await.unwrap(),
            2
        );
        store.clear_login_failures("user:canbo", 0).await.unwrap();
        assert_eq!(
            store.login_failures_since("user:canbo", 0).await.unwrap(),
            0
        );
        assert_eq!(
            store.login_failures_since("ip:10.0.0.1", 0).await.unwrap(),
            2
        );
    }
);

fn set_content(code: &str, definition: &str) -> parindex_store::index_sets::IndexSetContent {
    parindex_store::index_sets::IndexSetContent {
        code: code.into(),
        year: 2021,
        unit_group: "SO".into(),
        title: "Bộ chỉ số cấp sở (minh họa)".into(),
        illustrative: true,
        definition: definition.into(),
        node_count: 1,
    }
}

both_backends!(
    index_set_lifecycle_draft_publish_immutable,
    |store: Store| async move {
        use parindex_store::index_sets::SetStatus;
        let audit_before = audit_count(&store).await;
        let mut tx = store.begin_write(actor()).await.unwrap();
        let draft = tx
            .create_index_set(&set_content("MH-2021-SO", "{\"v\":1}"), None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!((draft.status, draft.version), (SetStatus::Draft, 1));

        let mut tx = store.begin_write(actor()).await.unwrap();
        let saved = tx
            .save_index_set(draft.id, 1, &set_content("MH-2021-SO", "{\"v\":2}"))
            .await
            .unwrap();
        assert!(matches!(
            tx.save_index_set(draft.id, 1, &set_content("MH-2021-SO", "{\"v\":3}"))
                .await,
            Err(StoreError::Stale)
        ));
        tx.commit().await.unwrap();
        assert_eq!(saved.version, 2);

        let mut tx = store.begin_write(actor()).await.unwrap();
        let published = tx.publish_index_set(draft.id, 2).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(published.status, SetStatus::Published);
        assert!(published.published_at.is_some());

        // Published means immutable: saving, publishing again and deleting are all refused.
        let mut tx = store.begin_write(actor()).await.unwrap();
        assert!(matches!(
            tx.save_index_set(draft.id, 3, &set_content("MH-2021-SO", "{}"))
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            tx.publish_index_set(draft.id, 3).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            tx.delete_draft_index_set(draft.id, 3).await,
            Err(StoreError::Invalid(_))
        ));
        drop(tx);
        assert_eq!(
            store.get_index_set(draft.id).await.unwrap().definition,
            "{\"v\":2}"
        );

        // Next year's set is a clone with a code mapping back to this one.
        let mut tx = store.begin_write(actor()).await.unwrap();
        let next = tx
            .create_index_set(&set_content("MH-2022-SO", "{\"v\":2}"), Some(draft.id))
            .await
            .unwrap();
        tx.set_code_mapping(next.id, draft.id, &[("1.1".into(), "1.2".into())])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // A duplicate code is refused (in its own transaction: on PostgreSQL a failed statement
        // aborts the transaction it is in).
        let mut tx = store.begin_write(actor()).await.unwrap();
        assert!(matches!(
            tx.create_index_set(&set_content("MH-2022-SO", "{}"), None)
                .await,
            Err(StoreError::Duplicate { .. })
        ));
        drop(tx);
        assert_eq!(
            store.code_mappings(next.id).await.unwrap(),
            vec![(draft.id, "1.1".to_string(), "1.2".to_string())]
        );
        // create, save, publish, clone, mapping
        assert_eq!(audit_count(&store).await, audit_before + 5);

        let mut tx = store.begin_write(actor()).await.unwrap();
        tx.delete_draft_index_set(next.id, 1).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.list_index_sets().await.unwrap().len(), 1);
        assert!(matches!(
            store.audit_verify().await.unwrap(),
            ChainReport::Intact { .. }
        ));
    }
);

both_backends!(
    a_self_assessment_write_is_refused_inside_its_transaction,
    |store: Store| async move {
        use parindex_domain::workflow::{SelfWriteRefusal, WriteRefusal};
        use parindex_store::periods::PeriodSettings;
        let group = seed_group(&store, "SO").await;
        let mut tx = store.begin_write(actor()).await.unwrap();
        let unit = tx
            .create_unit(&draft("STP", "Sở Tư pháp", group))
            .await
            .unwrap()
            .id;
        let now = parindex_store::now_ms();
        let period = tx
            .create_period(
                &PeriodSettings {
                    year: 2026,
                    name: "Kỳ 2026".into(),
                    self_open_at: now - 86_400_000,
                    self_close_at: now + 86_400_000,
                    explanation_due_at: None,
                    appraisal_open_at: None,
                    appraisal_close_at: None,
                    bonus_cap_milli: 0,
                    penalty_cap_milli: 0,
                    band_good_milli: 85_000,
                    band_fair_milli: 70_000,
                    band_average_milli: 50_000,
                    appraisal_rounds: 2,
                },
                &[],
                &[unit],
            )
            .await
            .unwrap()
            .id;
        tx.commit().await.unwrap();
        let claim = |store: Store| async move {
            let mut tx = store.begin_write(actor()).await.unwrap();
            let answer = tx.claim_self_assessment(period, unit).await;
            drop(tx);
            answer
        };
        // Open window, not submitted: the write may go ahead.
        assert_eq!(claim(store.clone()).await.unwrap(), Ok(()));
        // A unit outside the period is not found.
        let mut tx = store.begin_write(actor()).await.unwrap();
        assert!(matches!(
            tx.claim_self_assessment(period, unit + 1000).await,
            Err(StoreError::NotFound)
        ));
        drop(tx);

        // Submitted by another transaction: the claim of a later write is refused in its own
        // transaction, whatever the handler saw before.
        let mut tx = store.begin_write(actor()).await.unwrap();
        tx.submit_self_assessment(period, unit).await.unwrap();
        tx.commit().await.unwrap();
        assert!(matches!(
            claim(store.clone()).await.unwrap(),
            Err(SelfWriteRefusal::Window(WriteRefusal::Submitted { .. }))
        ));
        let mut tx = store.begin_write(actor()).await.unwrap();
        tx.reopen_self_assessment(period, unit, "Bổ sung tài liệu")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // Past the deadline: refused; an extension reopens it.
        sqlx::query("UPDATE periods SET self_close_at = $1 WHERE id = $2")
            .bind(now - 1000)
            .bind(period)
            .execute(store.raw_pool_for_tests())
            .await
            .unwrap();
        assert!(matches!(
            claim(store.clone()).await.unwrap(),
            Err(SelfWriteRefusal::Window(
                WriteRefusal::DeadlinePassed { .. }
            ))
        ));
        sqlx::query("UPDATE period_units SET extension_until = $1 WHERE period_id = $2")
            .bind(now + 60_000)
            .bind(period)
            .execute(store.raw_pool_for_tests())
            .await
            .unwrap();
        assert_eq!(claim(store.clone()).await.unwrap(), Ok(()));

        // Once the appraisal started, the self-assessment is closed whatever the window says.
        sqlx::query("UPDATE periods SET stage = 'round', stage_round = 1 WHERE id = $1")
            .bind(period)
            .execute(store.raw_pool_for_tests())
            .await
            .unwrap();
        assert!(matches!(
            claim(store.clone()).await.unwrap(),
            Err(SelfWriteRefusal::Stage(_))
        ));
    }
);

// Issue 10, point 20: an acknowledged write survives a power loss, as an acknowledged
// evidence file does. Every pooled connection runs SQLite with synchronous = FULL (2) unless
// the operator chose NORMAL; PostgreSQL keeps synchronous_commit on.
both_backends!(durability_is_one_promise, |store: Store| async move {
    use sqlx::Row;
    // Hold several connections at once, so that each is a different pooled connection.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(store.raw_pool_for_tests().acquire().await.unwrap());
    }
    for conn in &mut held {
        match store.backend() {
            Backend::Sqlite => {
                let row = sqlx::query("PRAGMA synchronous")
                    .fetch_one(&mut **conn)
                    .await
                    .unwrap();
                assert_eq!(row.try_get::<i64, _>(0).unwrap(), 2, "synchronous = FULL");
            }
            Backend::Postgres => {
                let row = sqlx::query("SHOW synchronous_commit")
                    .fetch_one(&mut **conn)
                    .await
                    .unwrap();
                assert_eq!(row.try_get::<String, _>(0).unwrap(), "on");
            }
        }
    }
    drop(held);
    if store.backend() == Backend::Sqlite {
        assert_eq!(store.sqlite_pragma("synchronous").await.unwrap(), "2");
        // The documented trade-off is a setting: NORMAL reads back as 1.
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("n.db").display());
        let normal = Store::connect_with(
            &url,
            parindex_store::StoreOptions {
                max_connections: 2,
                sqlite_synchronous: parindex_store::SqliteSync::Normal,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(normal.sqlite_pragma("synchronous").await.unwrap(), "1");
        normal.raw_pool_for_tests().close().await;
    }
});
