-- Quality check mes_series_completes, one row per territory level.
-- A gap is a month missing from a territory's series between its first month and the latest
-- month of its level, or (EPCI, département) a month where fewer of its communes are present
-- than in its other months. Months before a territory's first month are history not supplied,
-- not gaps: documents per inhabitant simply starts 12 months after the first month.
WITH series AS (
    SELECT territory_level, territory_code, mois, communes, window_complete
    FROM staging.mes_territory_month
),
level_bounds AS (
    SELECT territory_level, max(mois) AS last_month FROM series GROUP BY territory_level
),
territory AS (
    SELECT territory_level, territory_code, min(mois) AS first_month, max(communes) AS full_communes
    FROM series GROUP BY territory_level, territory_code
),
expected AS (
    SELECT t.territory_level, t.territory_code, t.full_communes,
           unnest(generate_series(t.first_month, b.last_month, INTERVAL 1 MONTH))::DATE AS mois
    FROM territory AS t JOIN level_bounds AS b USING (territory_level)
),
gap AS (
    SELECT e.territory_level, e.territory_code, e.mois,
           CASE WHEN s.mois IS NULL THEN strftime(e.mois, '%Y-%m')
                ELSE strftime(e.mois, '%Y-%m') || ' : ' || s.communes || ' commune(s) sur ' || e.full_communes
           END AS what
    FROM expected AS e
    LEFT JOIN series AS s USING (territory_level, territory_code, mois)
    WHERE s.mois IS NULL OR s.communes < e.full_communes
),
gap_by_territory AS (
    SELECT territory_level, territory_code,
           territory_code || ' (' || string_agg(what, ', ' ORDER BY mois) || ')' AS described
    FROM gap GROUP BY territory_level, territory_code
),
gap_by_level AS (
    SELECT territory_level, count(*) AS territories,
           array_to_string(list_slice(list(described ORDER BY territory_code), 1, 20), ' ; ') AS listed
    FROM gap_by_territory GROUP BY territory_level
),
not_computed AS (
    -- windows that would be complete were it not for a gap (12 months of history or more)
    SELECT s.territory_level, count(*) AS values_missing
    FROM series AS s JOIN territory AS t USING (territory_level, territory_code)
    WHERE NOT s.window_complete AND s.mois >= t.first_month + INTERVAL 11 MONTH
    GROUP BY s.territory_level
),
coverage AS (
    SELECT s.territory_level, count(DISTINCT s.territory_code) AS territories,
           min(s.mois) AS first_month, max(s.mois) AS last_month,
           count(*) FILTER (WHERE s.window_complete) AS values_computed
    FROM series AS s GROUP BY s.territory_level
),
level AS (
    SELECT * FROM (VALUES ('commune', 'commune', 'communes', 1), ('epci', 'EPCI', 'EPCI', 2),
                          ('departement', 'département', 'département(s)', 3))
        AS l(territory_level, label, plural, rank)
)
SELECT
    'mes_series_completes' AS check_name,
    g.territories IS NULL AS passed,
    'avertissement' AS severity,
    CASE
        WHEN c.territories IS NULL THEN
            'Niveau ' || l.label || ' : aucune donnée chargée.'
        WHEN g.territories IS NULL THEN
            'Niveau ' || l.label || ' : aucun mois manquant dans les séries de ' || c.territories
            || ' ' || l.plural || ' (' || strftime(c.first_month, '%Y-%m') || ' à ' || strftime(c.last_month, '%Y-%m')
            || ') ; ' || c.values_computed || ' valeur(s) de documents ajoutés par habitant calculée(s) '
            || '(il faut 12 mois d''historique).'
        ELSE
            'Niveau ' || l.label || ' : ' || g.territories || ' ' || l.plural
            || ' dont la série a des mois manquants ou incomplets : ' || g.listed
            || CASE WHEN g.territories > 20 THEN ' ; … et ' || (g.territories - 20) || ' autre(s)' ELSE '' END
            || '. Documents ajoutés par habitant non calculé pour ' || coalesce(n.values_missing, 0)
            || ' territoire(s)-mois dont la fenêtre de 12 mois contient ces mois. '
            || '→ Déposez un fichier qui contient les mois manquants (il complétera les mois déjà chargés).'
    END AS message,
    NULL::VARCHAR AS upload_sha256
FROM level AS l
LEFT JOIN gap_by_level AS g USING (territory_level)
LEFT JOIN not_computed AS n USING (territory_level)
LEFT JOIN coverage AS c USING (territory_level)
ORDER BY l.rank
