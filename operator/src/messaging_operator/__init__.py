"""The MessagingPlatform operator: pure builders of desired state plus thin kopf handlers."""

GROUP = "messaging.platform.dev"
VERSION = "v1alpha1"
PLURAL = "messagingplatforms"
