from groups_service.models import Base
from messaging_kit.migrations import run_online

run_online(Base.metadata)
