{#-
    Builders of models/audit/load_audit.sql: the runs and summary sides of the
    copy and located models stacked into one shape (folder_kind, entity_id),
    so the model reads as one static query. Each receives the relations it
    stacks (the model's import CTEs), so the model names what it reads.
    Files, rows, partitions and column findings come from the file inventory
    (macros/staging/butter_inventory.sql).
-#}


{#- Every staging row (the copy models hold one row per staging row):
    folder_kind, source_folder, source_file, entity_id, the fingerprints
    copies are compared by (butter_copies_agree), hyperparameters_fingerprint,
    damage (why the row is quarantined as
    damaged, NULL for a sound row). -#}
{% macro butter_audit_copies(run_copies, experiment_copies) -%}
    select
        'runs' as folder_kind,
        source_folder,
        source_file,
        run_id as entity_id,
        values_fingerprint,
        arrays_fingerprint,
        executive_arrays_fingerprint,
        hyperparameters_fingerprint,
        damage
    from {{ run_copies }}
    union all
    select
        'summary' as folder_kind,
        source_folder,
        source_file,
        cast(experiment_id as string) as entity_id,
        values_fingerprint,
        arrays_fingerprint,
        executive_arrays_fingerprint,
        hyperparameters_fingerprint,
        damage
    from {{ experiment_copies }}
{%- endmacro %}


{#- The copy each entity is read from: folder_kind, entity_id,
    read_from_folder, read_from_file, runs_hyperparameters_fingerprint
    (summaries; NULL for runs). -#}
{% macro butter_audit_located(runs_located, experiments_located) -%}
    select
        'runs' as folder_kind,
        run_id as entity_id,
        read_from_folder,
        read_from_file,
        cast(null as string) as runs_hyperparameters_fingerprint
    from {{ runs_located }}
    union all
    select
        'summary' as folder_kind,
        cast(experiment_id as string) as entity_id,
        read_from_folder,
        read_from_file,
        runs_hyperparameters_fingerprint
    from {{ experiments_located }}
{%- endmacro %}


{#- The entities present in their mart: folder_kind, entity_id. -#}
{% macro butter_audit_in_marts(run_best_epochs, experiment_summary) -%}
    select distinct
        'runs' as folder_kind,
        run_id as entity_id
    from {{ run_best_epochs }}
    union all
    select distinct
        'summary' as folder_kind,
        cast(experiment_id as string) as entity_id
    from {{ experiment_summary }}
    where has_published_summary
{%- endmacro %}
