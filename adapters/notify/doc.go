// Package notify derives notifications from a submission's life and from the
// state of the outbox:
//
//   - Reactor, installed on the store (outbox.Auditor.SetReactor), turns audit
//     events into follow-up outbox messages inside the transaction that
//     records them: the office mail (Funktionspostfach) once a submission has
//     reached its Fachverfahren, and the portal's status callbacks
//     (accepted, delivered, failed, replayed).
//   - Monitor checks the outbox periodically and mails a tenant's technical
//     contact once when a destination's messages are dead or it has stalled,
//     and once more when that has cleared (the alarm state is kept by the
//     store, Tx.SetAlarm, so several processes send one mail per incident).
//
// Notifications are outbox messages themselves, on the topics
// config.OfficeMailTopic, config.AlarmMailTopic and config.CallbackTopic,
// delivered by adapters/smtp and adapters/webhook with retries. Their payloads
// hold ids, procedure names and times, never personal data of applicants:
// templates see config.MailTemplateData only.
package notify
