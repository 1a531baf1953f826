{#-
    The same run (experiment) can be published in all_runs (complete_summary)
    and in several per-sweep folders. These macros hold the three steps that
    make each appear once downstream, shared by the run and experiment models:

    1. butter_copies_unioned: key + cheap columns of every copy in every folder
       (no arrays: reading keys of every folder is cheap, arrays are not);
    2. butter_copies_located: one row per key: which folder it is read from
       (the all-sweeps folder first, else the first sweep folder by name),
       how many copies there are and whether they disagree;
    3. butter_copies_deduplicated: the full rows, each read from its one
       folder, so the arrays are scanned once.
-#}

{% macro butter_key_column(kind) -%}
    {{- return('run_id' if kind == 'runs' else 'experiment_id') -}}
{%- endmacro %}


{% macro butter_copies_unioned(kind) -%}
    {%- set key = butter_key_column(kind) -%}
    {%- set columns = butter_agreement_columns(kind) -%}
    {%- for folder in butter_folders(kind) %}
    select
        '{{ folder }}' as source_folder,
        {%- if kind == 'runs' %}
        {{ key }},
        {%- endif %}
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        {{ butter_fingerprint(columns) }} as agreement_fingerprint
    from {{ ref('stg_butter__' ~ folder) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}


{% macro butter_copies_located(kind, copies_relation) -%}
    {%- set key = butter_key_column(kind) -%}
    {%- set primary_folder = butter_folders(kind)[0] -%}
    select
        {{ key }},
        {%- if kind == 'runs' %}
        {{ butter_any_value("experiment_id") }} filter (where copy_rank = 1) as experiment_id,
        {%- endif %}
        {{ butter_any_value("source_folder") }} filter (where copy_rank = 1) as read_from_folder,
        count(*) as num_copies,
        string_agg(source_folder, ', ' order by source_folder) as source_folders,
        count(distinct agreement_fingerprint) > 1 as has_disagreeing_copies,
        count(*) filter (where source_folder = '{{ primary_folder }}') > 0 as is_in_{{ primary_folder }}
    from (
        select
            *,
            row_number() over (
                partition by {{ key }}
                order by source_folder != '{{ primary_folder }}', source_folder
            ) as copy_rank
        from {{ copies_relation }}
    ) as ranked_copies
    group by {{ key }}
{%- endmacro %}


{% macro butter_copies_deduplicated(kind, located_relation) -%}
    {%- set key = butter_key_column(kind) -%}
    {%- for folder in butter_folders(kind) %}
    select
        stg.*,
        '{{ folder }}' as source_folder
    from {{ ref('stg_butter__' ~ folder) }} as stg
    {%- if not loop.first %}
    where stg.{{ key }} in (
        select located.{{ key }}
        from {{ located_relation }} as located
        where located.read_from_folder = '{{ folder }}'
    )
    {%- endif %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
