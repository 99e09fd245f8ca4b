package server

import (
	"log/slog"

	"github.com/postern/postern/internal/clock"
	"github.com/postern/postern/share/webhook"
)

// newNotifier starts the sender of share notifications (docs/api.md,
// Webhooks): to the server-wide --share-webhook, if any, signed with its
// secret, and to each share's own webhook, signed with a secret derived
// from key (the server key's) for that share; shares' webhooks reach only
// public addresses unless --share-webhook-allow-private.
func newNotifier(cfg *Config, key []byte, clk clock.Clock, logger *slog.Logger) *webhook.Notifier {
	return webhook.New(webhook.Config{
		URL:          cfg.ShareWebhook,
		Secret:       cfg.ShareWebhookSecret,
		ShareKey:     key,
		AllowPrivate: cfg.ShareWebhookAllowPrivate,
		Clock:        clk,
		Logger:       logger,
	})
}
