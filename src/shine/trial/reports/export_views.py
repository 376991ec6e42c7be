"""The export page and the download of the analysis data set (a zip of the export's files)."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from shine.trial.accounts.roles import may_export
from shine.trial.accounts.selectors import require_export
from shine.trial.errors import rid

from .exports import export_dataset


@login_required
def export_page(request):
    require_export(request.user, blinded=True)
    return render(request, "reports/export.html", {"can_unblinded": may_export(request.user, blinded=False)})


@login_required
@require_POST
def export_download(request):
    blinded = request.POST.get("blinded", "true") != "false"
    require_export(request.user, blinded=blinded)
    tmp = Path(tempfile.mkdtemp(prefix="shine-export-"))
    try:
        result = export_dataset(tmp / "data", user=request.user, blinded=blinded, request_id=rid(request))
        zpath = tmp / "dataset.zip"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
            for file in sorted((tmp / "data").iterdir()):
                z.write(file, f"shine-dataset/{file.name}")
        handle = open(zpath, "rb")
    finally:
        shutil.rmtree(tmp / "data", ignore_errors=True)
    name = f"shine-{'blinded' if blinded else 'unblinded'}-{result.data_cutoff[:10]}.zip"
    response = FileResponse(handle, content_type="application/zip", as_attachment=True, filename=name)
    response._resource_closers.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    return response
