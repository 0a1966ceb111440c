"""WebSocket close codes the service sends (the hub and the sessions both close sockets)."""

# Application close codes (4000-4999 are ours).
CLOSE_UNAUTHORIZED = 4001
CLOSE_BAD_FRAME = 4002
CLOSE_IDLE = 4004
CLOSE_SLOW = 4008
