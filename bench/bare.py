"""The yardstick: a bare FastAPI endpoint returning a small Pydantic model, on the services' server settings."""

from fastapi import FastAPI
from pydantic import BaseModel


class Thing(BaseModel):
    """A small model, about the size of a unit."""

    id: str
    code: str
    name: str
    level: str


def create_app() -> FastAPI:
    """An app with one GET endpoint and nothing else."""
    app = FastAPI()
    thing = Thing(id="01JBARE0000000000000000000", code="YW", name="禹王镇", level="town")

    @app.get("/thing")
    async def read_thing() -> Thing:
        """The same small model every time."""
        return thing

    return app
