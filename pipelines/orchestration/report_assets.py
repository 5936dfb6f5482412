"""The committee pack as an asset downstream of the publication: every run that publishes the warehouse
(the rebuild, each source's refresh, the sensor's runs) rebuilds the HTML dashboard, the workbook and
the PDF from the version it just published (pipelines/reporting/pack.py)."""

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from pipelines.orchestration.keys import PUBLICATION_KEY, REPORTS_KEY
from pipelines.orchestration.resources import ProjectResource


@asset(
    key=REPORTS_KEY,
    group_name="publication",
    kinds={"html", "excel", "pdf"},
    deps=[PUBLICATION_KEY],
    description="Le dossier du comité e-santé, refait à chaque publication depuis la version publiée de "
    "l'entrepôt : tableau de bord HTML autonome (tableau-de-bord.html), classeur Excel avec graphiques "
    "(comite.xlsx) et PDF A4 (comite.pdf), dans warehouse/rapports/ ; les versions précédentes restent dans "
    "warehouse/rapports/versions/ tant que leur version de l'entrepôt est gardée.",
)
def committee_pack(context: AssetExecutionContext, project: ProjectResource) -> MaterializeResult:
    from pipelines.reporting.pack import NoPublishedWarehouse, build_pack, pack_versions
    from pipelines.reporting.scope import LockedWarehouse
    from pipelines.warehouse.publication import is_disk_full, published_version

    settings = project.settings()
    try:
        paths = build_pack(settings)
    except (NoPublishedWarehouse, LockedWarehouse) as error:
        raise Failure(description=str(error), allow_retries=False) from None
    except OSError as error:
        if is_disk_full(error):
            raise Failure(
                description=f"Disque plein ({settings.reports_dir}) : le dossier du comité n'a pas été refait ; "
                "libérez de la place puis relancez (l'entrepôt publié n'est pas touché).",
                allow_retries=False,
            ) from None
        raise
    version = published_version(settings)
    context.log.info(f"Dossier du comité refait depuis {version.name if version else '?'}.")
    return MaterializeResult(
        metadata={
            "dossier": MetadataValue.path(str(settings.reports_dir)),
            "fichiers": MetadataValue.json([p.name for p in paths]),
            "version_entrepot": MetadataValue.path(str(version) if version else ""),
            "versions_gardees": len(pack_versions(settings)),
            "tableau_de_bord": MetadataValue.path(str(paths[0])),
        }
    )
