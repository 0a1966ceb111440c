"""The app factory every service starts from."""

from fastapi import FastAPI


def create_app(service: str, version: str = "0.1.0") -> FastAPI:
    app = FastAPI(title=f"messaging {service}", version=version)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    return app
