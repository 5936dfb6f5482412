-- Objectives 1, 2 and 5: events and actions held, by département, EPCI and quarter (period = first day of
-- the quarter). Segment = type of event (NULL = all types); event_experience_reports also has segment
-- 'telesante' (the reports on telehealth, all types). A count is the number of events; a sum adds the
-- numbers the register gives, and a group where none is given has no value (participants: NULL, with a
-- note). Events dated in the future are not counted until their day has passed.
WITH event AS (
    SELECT
        date_trunc('quarter', date_evenement)::DATE AS period,
        type_evenement, objectifs, departement, epci,
        participants, ateliers, retours_experience, retours_experience_telesante, stands, upload_sha256
    FROM staging.events
    WHERE date_evenement <= current_date
),
by_territory AS (
    SELECT 'departement' AS territory_level, departement AS territory_code, * FROM event
    UNION ALL
    SELECT 'epci', epci, * FROM event WHERE epci IS NOT NULL
),
by_segment AS (
    SELECT NULL::VARCHAR AS segment, * FROM by_territory
    UNION ALL
    SELECT type_evenement, * FROM by_territory
),
measure AS (
    SELECT 'events_held' AS indicator_id, territory_level, territory_code, period, segment, 1 AS amount, upload_sha256
    FROM by_segment
    UNION ALL
    SELECT 'event_participants', territory_level, territory_code, period, segment, participants, upload_sha256
    FROM by_segment
    UNION ALL
    SELECT 'inclusion_actions', territory_level, territory_code, period, segment, 1, upload_sha256
    FROM by_segment WHERE list_contains(objectifs, 1)
    UNION ALL
    SELECT 'inclusion_participants', territory_level, territory_code, period, segment, participants, upload_sha256
    FROM by_segment WHERE list_contains(objectifs, 1)
    UNION ALL
    SELECT 'mes_promotion_events', territory_level, territory_code, period, segment, 1, upload_sha256
    FROM by_segment WHERE list_contains(objectifs, 2)
    UNION ALL
    SELECT 'mes_promotion_participants', territory_level, territory_code, period, segment, participants, upload_sha256
    FROM by_segment WHERE list_contains(objectifs, 2)
    UNION ALL
    SELECT 'event_workshops', territory_level, territory_code, period, segment, ateliers, upload_sha256
    FROM by_segment
    UNION ALL
    SELECT 'event_experience_reports', territory_level, territory_code, period, segment, retours_experience, upload_sha256
    FROM by_segment
    UNION ALL
    SELECT 'event_experience_reports', territory_level, territory_code, period, 'telesante', retours_experience_telesante, upload_sha256
    FROM by_territory
    UNION ALL
    SELECT 'event_partner_stands', territory_level, territory_code, period, segment, stands, upload_sha256
    FROM by_segment
)
SELECT
    indicator_id, territory_level, territory_code, period, segment,
    sum(amount)::BIGINT AS numerator,
    NULL::BIGINT AS denominator,
    sum(amount)::DOUBLE AS value,
    'nombre' AS unit,
    CASE WHEN count(amount) = 0 THEN 'Nombre de participants non renseigné pour ces événements.' END AS note,
    list_sort(list_distinct(list(upload_sha256))) AS upload_sha256
FROM measure
GROUP BY indicator_id, territory_level, territory_code, period, segment
-- participants: a value (or its note) wherever events were held; the other sums where the register gives them
HAVING count(amount) > 0 OR indicator_id LIKE '%participants'
