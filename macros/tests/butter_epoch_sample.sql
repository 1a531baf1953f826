{#- A filter (SQL text) keeping the parent rows (runs or experiments) that a
    check over per-epoch data looks at, by values of `key` (e.g. experiment_id
    for runs: the runs of an experiment sit together in the parquet files, so
    a sample of whole experiments touches few row groups; `weight` is summed
    per key). Vars: `butter_epoch_checks` is
    `sample` (default) or `full` (filter `true`: every row);
    `butter_epoch_check_sample_epochs` (default 500000) bounds the sample by
    its per-epoch values: rows are taken in md5 order of the key (the same in
    every build, spread over datasets, shapes and folders) while the sum of
    `weight` before them is below it, so the first row is always taken.
    The keys are looked up when the check runs and written into the SQL as
    literals, so the engine can push them down to the parquet scan and read
    the arrays of the sampled rows only. `where` restricts the candidates. -#}
{% macro butter_epoch_sample_filter(relation, key, weight, where='true', column=none) -%}
    {%- set column = column or key -%}
    {%- set mode = var('butter_epoch_checks') -%}
    {%- set budget = var('butter_epoch_check_sample_epochs') -%}
    {%- if mode not in ['sample', 'full'] -%}
        {{ exceptions.raise_compiler_error(
            "var butter_epoch_checks must be 'sample' or 'full', not '" ~ mode ~ "'") }}
    {%- endif -%}
    {%- if budget is not number or budget < 1 -%}
        {{ exceptions.raise_compiler_error(
            "var butter_epoch_check_sample_epochs must be a positive number, not '" ~ budget ~ "'") }}
    {%- endif -%}
    {#- full mode, parsing, or compiling before the build (sqlfluff): no filter -#}
    {%- if mode == 'full' or not execute or load_relation(relation) is none -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set sql -%}
        with

        candidates as (
            select
                {{ key }} as sample_key,
                coalesce(sum({{ weight }}), 0) as sample_weight,
                md5(cast({{ key }} as string)) as sample_order
            from {{ relation }}
            where {{ key }} is not null and ({{ where }})
            group by {{ key }}
        ),

        running as (
            select
                sample_key,
                sum(sample_weight) over (
                    order by sample_order, sample_key
                    rows between unbounded preceding and current row
                ) - sample_weight as weight_before
            from candidates
        )

        select sample_key from running
        where weight_before < {{ budget }}
        order by sample_key
    {%- endset -%}
    {%- set keys = run_query(sql).columns[0].values() -%}
    {%- if keys | length == 0 -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for value in keys -%}
        {%- if value is string -%}
            {%- do literals.append(butter_sql_string(value)) -%}
        {%- else -%}
            {%- do literals.append(value | string) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(column ~ ' in (' ~ literals | join(', ') ~ ')') }}
{%- endmacro %}
