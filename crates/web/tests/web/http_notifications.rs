//! Notifications: deadline reminders are created once per unit and deadline, only for units
//! that have not submitted and whose deadline is near; the page lists them with the unread
//! count in the header; marking read works for the owner only; and the e-mail copy goes out
//! through the SMTP client (tested against a small SMTP server written here: a real TCP
//! listener on 127.0.0.1 that speaks the protocol and records the message).

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use parindex_app::notify::{SmtpConfig, send_deadline_reminders, send_email, send_pending_emails};
use parindex_domain::Username;
use parindex_store::AuditActor;
use parindex_store::appraisal::{AppraisalWrite, NewNotification};
use parindex_store::users::NewUser;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::TestApp;
use crate::support::fixtures;
use crate::web_test;

const DAY: i64 = 24 * 3600 * 1000;

async fn system_tx(app: &TestApp) -> parindex_store::WriteTx {
    app.store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap()
}

web_test!(
    reminders_are_created_once_and_only_for_unsubmitted_units_near_the_deadline,
    |app: TestApp| async move {
        let period = fixtures::period(&app).explanation_due_in(20).open().await;
        let close = app.store().get_period(period).await.unwrap().self_close_at;
        let store = app.store();
        let officer = app.seed.users["canbo.stp"];
        let head = app.seed.users["truong.stp"];

        // Five days before the deadline: too early.
        assert_eq!(
            send_deadline_reminders(store, close - 5 * DAY)
                .await
                .unwrap(),
            0
        );
        // Two days before: the officer and the head of each unit with users (STP).
        assert_eq!(
            send_deadline_reminders(store, close - 2 * DAY)
                .await
                .unwrap(),
            2
        );
        // Run again: nothing new.
        assert_eq!(
            send_deadline_reminders(store, close - 2 * DAY)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            send_deadline_reminders(store, close - 2 * DAY + 60_000)
                .await
                .unwrap(),
            0
        );
        let mine = store.notifications(officer, 10).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert!(
            mine[0]
                .title
                .starts_with("Còn 2 ngày đến hạn tự đánh giá ("),
            "{}",
            mine[0].title
        );
        assert_eq!(mine[0].link, "/self-assessment");
        assert_eq!(store.notifications(head, 10).await.unwrap().len(), 1);
        assert!(
            store
                .notifications(app.seed.users["thuky"], 10)
                .await
                .unwrap()
                .is_empty()
        );

        // An extension moves the deadline: one more reminder for the new one.
        let mut tx = system_tx(&app).await;
        tx.set_extension(period, app.seed.unit_stp, Some(close + DAY), "gia hạn")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(send_deadline_reminders(store, close).await.unwrap(), 2);

        // A submitted unit gets no reminder, even for a new deadline.
        let mut tx = system_tx(&app).await;
        tx.set_extension(period, app.seed.unit_stp, Some(close + 2 * DAY), "gia hạn")
            .await
            .unwrap();
        tx.submit_self_assessment(period, app.seed.unit_stp)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            send_deadline_reminders(store, close + DAY).await.unwrap(),
            0
        );
        assert_eq!(store.notifications(officer, 10).await.unwrap().len(), 2);

        // Explanation round: a unit with a flagged leaf is reminded two days before the due date.
        let due = store
            .get_period(period)
            .await
            .unwrap()
            .explanation_due_at
            .unwrap();
        let mut tx = system_tx(&app).await;
        tx.set_period_stage(period, ("self", 0), ("round", 1))
            .await
            .unwrap();
        tx.save_appraisal(
            period,
            app.seed.unit_stp,
            "1.5.2",
            1,
            0,
            &AppraisalWrite {
                input_json: "{}".into(),
                score_milli: Some(0),
                not_applicable: false,
                explanation: String::new(),
                remark: "Thiếu tài liệu".into(),
                needs_explanation: true,
            },
        )
        .await
        .unwrap();
        tx.set_period_stage(period, ("round", 1), ("explanation", 1))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            send_deadline_reminders(store, due - 3 * DAY).await.unwrap(),
            0
        );
        assert_eq!(send_deadline_reminders(store, due - DAY).await.unwrap(), 2);
        assert_eq!(send_deadline_reminders(store, due - DAY).await.unwrap(), 0);
        let newest = &store.notifications(officer, 1).await.unwrap()[0];
        assert!(newest.title.contains("giải trình"), "{}", newest.title);
        assert_eq!(
            newest.link,
            format!("/periods/{period}/units/{}/explanation", app.seed.unit_stp)
        );
        app
    }
);

web_test!(
    the_page_lists_notifications_and_marks_them_read_for_the_owner_only,
    |app: TestApp| async move {
        let officer = app.seed.users["canbo.stp"];
        let mut tx = system_tx(&app).await;
        for (key, title) in [("a", "Thông báo thứ nhất"), ("b", "Thông báo thứ hai")] {
            tx.notify(
                &[officer],
                &NewNotification {
                    kind: "test",
                    dedupe_key: Some(key.into()),
                    title: title.into(),
                    body: "Nội dung".into(),
                    link: "/self-assessment".into(),
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        let ids: Vec<i64> = app
            .store()
            .notifications(officer, 10)
            .await
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();

        let mut client = app.login_as("canbo.stp").await;
        let r = client.get("/notifications").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("Thông báo thứ nhất"));
        assert!(r.body.contains("Thông báo thứ hai"));
        assert!(r.body.contains("href=\"/self-assessment\""));
        // The header shows the unread count next to "Thông báo".
        assert!(
            r.body.contains("data-testid=\"unread-badge\""),
            "{}",
            r.body
        );
        assert!(r.body.contains(">2</span>"));

        // Another user cannot mark it read (and cannot learn it exists).
        let mut other = app.login_as("truong.stp").await;
        let r = other
            .post(&format!("/notifications/{}/read", ids[0]), &[])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        // The refusal is the not-found page, not some other failure.
        assert!(r.body.contains("Không tìm thấy"), "{}", r.body);
        assert!(
            app.store().notifications(officer, 10).await.unwrap()[0]
                .read_at
                .is_none()
        );
        // The other user's own page works and lists none of the officer's.
        let r = other.get("/notifications").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(!r.body.contains("Thông báo thứ nhất"), "{}", r.body);

        let r = client
            .post(&format!("/notifications/{}/read", ids[0]), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            app.store()
                .unread_notification_count(officer)
                .await
                .unwrap(),
            1
        );
        let r = client.get("/notifications").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains(">1</span>"), "{}", r.body);

        let r = client.post("/notifications/read-all", &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            app.store()
                .unread_notification_count(officer)
                .await
                .unwrap(),
            0
        );
        let r = client.get("/notifications").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(!r.body.contains("data-testid=\"unread-badge\""));
        // Read, not gone: both are still listed.
        assert!(
            r.body.contains("Thông báo thứ nhất") && r.body.contains("Thông báo thứ hai"),
            "{}",
            r.body
        );
        app
    }
);

/// A minimal SMTP server for the test: answers every command, records the conversation.
async fn fake_smtp() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let recorded = log.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = recorded.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    let line = line.trim_end_matches(['\r', '\n']).to_owned();
                    log.lock().unwrap().push(line.clone());
                    let reply: &[u8] = if in_data {
                        if line == "." {
                            in_data = false;
                            b"250 queued\r\n"
                        } else {
                            continue;
                        }
                    } else if line.starts_with("EHLO") {
                        b"250-test greets you\r\n250 8BITMIME\r\n"
                    } else if line == "DATA" {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if line == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, log)
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/' || *b == b'=')
        .collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, c)| {
            n | if *c == b'=' {
                0
            } else {
                value(*c) << (18 - 6 * i)
            }
        });
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = chunk.iter().filter(|c| **c != b'=').count() - 1;
        out.extend_from_slice(&bytes[..keep]);
    }
    out
}

web_test!(
    pending_notifications_go_out_by_smtp,
    |app: TestApp| async move {
        let (port, log) = fake_smtp().await;
        let config = SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            from: "cchc@daklak.gov.vn".into(),
            ..SmtpConfig::default()
        };
        // The client on its own.
        send_email(
            &config,
            "canbo@stp.gov.vn",
            "Còn 2 ngày đến hạn",
            "Xin chào\nđơn vị",
        )
        .await
        .unwrap();
        {
            let log = log.lock().unwrap();
            assert!(
                log.contains(&"MAIL FROM:<cchc@daklak.gov.vn>".to_owned()),
                "{log:?}"
            );
            assert!(log.contains(&"RCPT TO:<canbo@stp.gov.vn>".to_owned()));
            let subject = log.iter().find(|l| l.starts_with("Subject: ")).unwrap();
            // RFC 2047: encoded words among plain ones (the space between two encoded words
            // is not text); the charset and the encoding letter are case-insensitive.
            let mut decoded = Vec::new();
            let mut last_encoded = false;
            for (i, word) in subject
                .trim_start_matches("Subject: ")
                .split(' ')
                .enumerate()
            {
                let upper = word.to_ascii_uppercase();
                let encoded = upper.starts_with("=?UTF-8?B?") && upper.ends_with("?=");
                if i > 0 && !(encoded && last_encoded) {
                    decoded.push(b' ');
                }
                if encoded {
                    decoded.extend(decode_base64(&word[10..word.len() - 2]));
                } else {
                    assert!(word.is_ascii(), "{subject}");
                    decoded.extend(word.as_bytes());
                }
                last_encoded = encoded;
            }
            assert!(subject.is_ascii() && subject.contains("=?"), "{subject}");
            assert_eq!(String::from_utf8(decoded).unwrap(), "Còn 2 ngày đến hạn");
            let blank = log.iter().position(|l| l.is_empty()).unwrap();
            let end = log.iter().position(|l| l == ".").unwrap();
            let body = decode_base64(&log[blank + 1..end].join(""));
            assert_eq!(String::from_utf8(body).unwrap(), "Xin chào\r\nđơn vị");
            assert_eq!(log.last().unwrap(), "QUIT");
        }
        // A bad address is refused before anything is sent.
        assert!(
            send_email(&config, "x@y.vn>\r\nRCPT TO:<z@w.vn", "s", "b")
                .await
                .is_err()
        );

        // Pending notifications of a user with an address are sent and marked.
        let mut tx = system_tx(&app).await;
        let user = tx
            .create_user(&NewUser {
                username: Username::parse("co.email").unwrap(),
                full_name: "Người có e-mail".into(),
                email: Some("co.email@daklak.gov.vn".into()),
                password_hash: "x".into(),
                must_change_password: false,
            })
            .await
            .unwrap();
        tx.notify(
            &[user.id],
            &NewNotification {
                kind: "test",
                dedupe_key: None,
                title: "Thông báo thử".into(),
                body: "Nội dung".into(),
                link: "/notifications".into(),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(!app.store().pending_emails(100).await.unwrap().is_empty());
        let sent = send_pending_emails(app.store(), &config, Some("https://cchc.example.vn/"))
            .await
            .unwrap();
        assert!(sent >= 1);
        assert!(app.store().pending_emails(100).await.unwrap().is_empty());
        assert!(
            log.lock()
                .unwrap()
                .contains(&"RCPT TO:<co.email@daklak.gov.vn>".to_owned())
        );
        app
    }
);
