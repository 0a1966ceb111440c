from messaging_kit.migrations import run_online
from notifications_service.models import Base

run_online(Base.metadata)
