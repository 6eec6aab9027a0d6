"""What every admin API route needs: the use cases built once for the application."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from keyhall.web.services import AdminServices


def services(request: Request) -> AdminServices:
    found: AdminServices = request.app.state.services
    return found


Services = Annotated[AdminServices, Depends(services)]
